package dev.backstop.health;

import dev.backstop.db.RestoreDao;
import dev.backstop.db.RestoreRow;
import dev.backstop.db.SnapshotDao;
import dev.backstop.db.SnapshotRow;
import dev.backstop.model.SnapshotStatus;
import dev.backstop.resilience.Guard;
import dev.backstop.source.SourceFactory;
import dev.backstop.storage.StorageTarget;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TimeZone;

/**
 * {@code GET /} on the admin port: what an operator looks at first. Per source the newest snapshot
 * and its age, the newest verified one and the last drill, the next run and the retention rules;
 * storage targets with their breaker; running work with progress; the last failures with their
 * reasons. Server-rendered HTML with inline styles: no script, no external asset, readable on a
 * phone. The page is rebuilt at most once per {@code refresh} (the health period) from two bounded
 * catalog lists, so a request never queries the catalog itself.
 */
public final class StatusPage extends HttpServlet {
    private static final int LIST = 500;

    private final transient List<SourceFactory> sources;
    private final transient Map<String, StorageTarget> targets;
    private final transient SnapshotDao snapshots;
    private final transient RestoreDao restores;
    private final transient HealthMonitor health;
    private final transient dev.backstop.core.PointInTimeWindows windows;
    private final transient dev.backstop.repository.RepositoryUsage usage;
    private final transient Clock clock;
    private final transient TimeZone zone;
    private final String version;
    private final Duration refresh;
    private transient volatile Rendered cached;
    private final java.util.concurrent.atomic.AtomicBoolean rendering = new java.util.concurrent.atomic.AtomicBoolean();

    private record Rendered(Instant at, byte[] html) {}

    /** @param targets in configuration order: the first is where a source without {@code target} goes */
    public StatusPage(List<SourceFactory> sources, Map<String, StorageTarget> targets, SnapshotDao snapshots, RestoreDao restores,
            HealthMonitor health, dev.backstop.core.PointInTimeWindows windows, dev.backstop.repository.RepositoryUsage usage,
            Clock clock, String timeZone, String version, Duration refresh) {
        this.sources = List.copyOf(sources);
        this.targets = targets;
        this.snapshots = snapshots;
        this.restores = restores;
        this.health = health;
        this.windows = windows;
        this.usage = usage;
        this.clock = clock;
        this.zone = TimeZone.getTimeZone(timeZone);
        this.version = version;
        this.refresh = refresh;
    }

    @Override
    protected void doGet(HttpServletRequest request, HttpServletResponse response) throws IOException {
        Instant now = clock.instant();
        Rendered page = cached;
        if (page == null || Duration.between(page.at(), now).compareTo(refresh) >= 0) {
            page = rebuild(now, page);
        }
        response.setStatus(200);
        response.setContentType("text/html;charset=utf-8");
        response.setHeader("Cache-Control", "no-store");
        response.setHeader("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'");
        response.setContentLength(page.html().length);
        response.getOutputStream().write(page.html());
    }

    /**
     * One request at a time rebuilds a stale page; the others serve the previous one meanwhile, so
     * a burst of requests never queries the catalog more than once. Only the very first requests,
     * with no page yet, wait for it.
     */
    private Rendered rebuild(Instant now, Rendered stale) {
        while (true) {
            if (rendering.compareAndSet(false, true)) {
                try {
                    Rendered fresh = new Rendered(now, render(now).getBytes(StandardCharsets.UTF_8));
                    cached = fresh;
                    return fresh;
                } finally {
                    rendering.set(false);
                }
            }
            Rendered current = cached;
            if (current != null) {
                return current;
            }
            if (stale != null) {
                return stale;
            }
            Thread.onSpinWait();
        }
    }

    String render(Instant now) {
        List<SnapshotRow> recent;
        List<RestoreRow> recentRestores;
        Map<String, SnapshotDao.Retained> retained = new java.util.HashMap<>();
        String catalogProblem = null;
        try {
            recent = snapshots.list(null, null, null, LIST);
            recentRestores = restores.list(null, 50);
            snapshots.retained().forEach(r -> retained.put(r.sourceName(), r));
        } catch (RuntimeException e) {
            recent = List.of();
            recentRestores = List.of();
            catalogProblem = "The catalog cannot be read now (" + e.getClass().getSimpleName() + "): see /health/detailed.";
        }
        HealthStatus overall = health.report(HealthEndpoint.DETAILED).status();
        StatusHtml html = new StatusHtml();
        html.raw("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
                + "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
                + "<title>Backstop status</title><style>" + CSS + "</style></head><body>");
        html.raw("<header><h1>Backstop</h1><span class=\"badge ").text(overall.wire()).raw("\">").text(overall.wire().toUpperCase())
                .raw("</span><span class=\"muted\"> version ").text(version).raw(" &middot; ").text(StatusFormat.format(now)).raw("</span>")
                .raw("<nav><a href=\"/health/detailed\">/health/detailed</a> <a href=\"/metrics/prometheus\">/metrics/prometheus</a>"
                        + "</nav></header>");
        if (catalogProblem != null) {
            html.raw("<p class=\"problem\">").text(catalogProblem).raw("</p>");
        }
        renderSources(html, recent, retained, now);
        renderTargets(html);
        renderRunning(html, recent, recentRestores, now);
        renderFailures(html, recent, recentRestores);
        html.raw("</body></html>");
        return html.toString();
    }

    private void renderSources(StatusHtml html, List<SnapshotRow> recent, Map<String, SnapshotDao.Retained> retained, Instant now) {
        html.raw("<section><h2>Sources</h2><div class=\"cards\">");
        for (SourceFactory source : sources) {
            Optional<SnapshotRow> newest = recent.stream().filter(r -> r.sourceName().equals(source.name())
                    && r.status() == SnapshotStatus.COMPLETED).findFirst();
            Optional<SnapshotRow> verified = recent.stream().filter(r -> r.sourceName().equals(source.name())
                    && r.status() == SnapshotStatus.COMPLETED && r.verifiedAt() != null).findFirst();
            if (newest.isEmpty()) {
                newest = snapshots.list(source.name(), SnapshotStatus.COMPLETED, null, 1).stream().findFirst();
            }
            if (verified.isEmpty()) {
                verified = snapshots.newestVerified(source.name());
            }
            html.raw("<article class=\"card\"><h3>").text(source.name()).raw(" <small>").text(source.type()).raw("</small></h3><dl>");
            html.raw("<dt>Newest snapshot</dt><dd>");
            newest.ifPresentOrElse(row -> html.text(StatusFormat.age(row.finishedAt(), now) + " ago").raw(" <code>").text(row.id())
                    .raw("</code> ").text(StatusFormat.bytes(row.storedBytes()))
                    .text(row.addedBytes() == null ? "" : ", " + StatusFormat.bytes(row.addedBytes()) + " new"),
                    () -> html.raw("<span class=\"warn\">none yet</span>"));
            SnapshotDao.Retained kept = retained.get(source.name());
            if (kept != null) {
                // whole: what the snapshots hold, each counted in full; stored new: what they added when written
                html.raw("</dd><dt>Retained</dt><dd>").text(StatusFormat.count(kept.snapshots(), "snapshot") + ", " + StatusFormat.bytes(kept.storedBytes())
                        + " whole, " + StatusFormat.bytes(kept.addedBytes()) + " stored new");
            }
            html.raw("</dd><dt>Newest verified</dt><dd>");
            if (source.verify() == null) {
                html.raw("<span class=\"muted\">no drills configured</span>");
            } else {
                verified.ifPresentOrElse(row -> {
                    html.raw("<span class=\"").text("PASSED".equals(row.verifyStatus()) ? "pass" : "fail").raw("\">")
                            .text(row.verifyStatus()).raw("</span> ").text(StatusFormat.age(row.verifiedAt(), now) + " ago").raw(" <code>")
                            .text(row.id()).raw("</code>");
                }, () -> html.raw("<span class=\"warn\">none yet</span>"));
            }
            html.raw("</dd><dt>Next run</dt><dd>").text(StatusFormat.next(source.schedule(), now, zone)).raw("</dd>");
            html.raw("<dt>Retention</dt><dd>").text(StatusFormat.retention(source.retention())).raw("</dd>");
            html.raw("<dt>Target</dt><dd>").text(source.target() == null ? targets.keySet().iterator().next() : source.target());
            if (!source.replicas().isEmpty()) {
                html.raw(" <span class=\"muted\">replicas: ").text(String.join(", ", source.replicas())).raw("</span>");
            }
            html.raw("</dd>");
            renderLog(html, source.name(), now);
            renderProblems(html, source.name());
            html.raw("</dl></article>");
        }
        html.raw("</div></section>");
    }

    /** A source with an archived log (postgres-cluster): its recoverable window, receiver and lag. */
    private void renderLog(StatusHtml html, String source, Instant now) {
        java.util.Optional<dev.backstop.core.PointInTimeWindows.Window> found;
        try {
            found = windows == null ? java.util.Optional.empty() : windows.window(source);
        } catch (RuntimeException e) {
            html.raw("<dt>Recoverable</dt><dd><span class=\"warn\">unknown: ").text(e.getMessage()).raw("</span></dd>");
            return;
        }
        if (found.isEmpty()) {
            return;
        }
        var window = found.get();
        html.raw("<dt>Recoverable</dt><dd>");
        if (window.recoverableFrom() == null || window.recoverableUntil() == null) {
            html.raw("<span class=\"warn\">no point yet</span>");
        } else {
            html.text("from " + StatusFormat.format(window.recoverableFrom()) + " until " + StatusFormat.format(window.recoverableUntil()) + " (")
                    .text(StatusFormat.age(window.recoverableUntil(), now) + " ago)");
        }
        html.raw("</dd><dt>Proven by a drill</dt><dd>");
        if (window.verifiedUntil() == null) {
            html.raw("<span class=\"warn\">no point yet</span>");
        } else {
            html.text("until " + StatusFormat.format(window.verifiedUntil()) + " (" + StatusFormat.age(window.verifiedUntil(), now) + " ago)");
        }
        dev.backstop.source.ArchivedLog.LogDetails archive = window.archive();
        String receiver = archive == null ? null : archive.receiver();
        html.raw("</dd><dt>WAL receiver</dt><dd><span class=\"").text("streaming".equals(receiver) || "standby".equals(receiver)
                ? "pass" : "fail").raw("\">").text(String.valueOf(receiver)).raw("</span></dd>");
        long lag = archive == null ? -1 : archive.lagBytes();
        html.raw("<dt>Archive lag</dt><dd>").text(lag >= 0 ? StatusFormat.bytes(lag) : "unknown")
                .raw("</dd>");
    }

    /** Why this source's checks do not pass, as /health/detailed says. */
    private void renderProblems(StatusHtml html, String source) {
        for (HealthProbe probe : health.probes()) {
            if (!probe.name().equals("source-" + source)) {
                continue;
            }
            for (HealthObservation o : health.latest(probe)) {
                if (o.status() != HealthStatus.PASS) {
                    html.raw("<dt class=\"").text(o.status().wire()).raw("\">").text(o.status().wire().toUpperCase()).raw("</dt><dd>")
                            .text(o.measurement() + ": " + (o.output() == null ? "" : o.output())).raw("</dd>");
                }
            }
        }
    }

    private void renderTargets(StatusHtml html) {
        html.raw("<section><h2>Storage targets</h2><table><thead><tr><th>Target</th><th>Where</th><th>Breaker</th>"
                + "<th>Quality</th></tr></thead><tbody>");
        for (StorageTarget target : targets.values()) {
            Guard guard = target.guarded().orElse(null);
            String state = guard == null ? "-" : guard.state().name();
            html.raw("<tr><td>").text(target.name()).raw("</td><td class=\"where\">").text(target.describe())
                    .raw("<div class=\"muted\">repository: ").text(repository(target.name())).raw("</div>").raw("</td><td><span class=\"")
                    .text("CLOSED".equals(state) ? "pass" : "OPEN".equals(state) ? "fail" : "warn").raw("\">").text(state)
                    .raw("</span></td><td>").text(guard == null ? "-" : String.format("%.2f", guard.score())).raw("</td></tr>");
        }
        html.raw("</tbody></table></section>");
    }

    /** The target's deduplicated repository: LIVE packs, and what is being written or awaits deletion. */
    private String repository(String target) {
        if (usage == null) {
            return "-";
        }
        try {
            dev.backstop.repository.RepositoryUsage.Totals live = usage.of(target, "LIVE");
            dev.backstop.repository.RepositoryUsage.Totals pending = usage.of(target, "PENDING");
            dev.backstop.repository.RepositoryUsage.Totals condemned = usage.of(target, "CONDEMNED");
            StringBuilder text = new StringBuilder(StatusFormat.count(live.packs(), "pack") + ", "
                    + StatusFormat.bytes(live.storedBytes()) + ", " + StatusFormat.count(live.chunks(), "chunk"));
            if (pending.packs() > 0) {
                text.append("; ").append(StatusFormat.bytes(pending.storedBytes())).append(" being written");
            }
            if (condemned.packs() > 0) {
                text.append("; ").append(StatusFormat.bytes(condemned.storedBytes())).append(" to be deleted by a prune");
            }
            return text.toString();
        } catch (RuntimeException e) {
            return "unknown (the catalog cannot be read)";
        }
    }

    /** ", about 2 min left" from the current phase's rate, or nothing while it cannot be told. */
    private static String eta(RestoreRow row, Instant now) {
        Long seconds = dev.backstop.api.RestoreView.eta(row, now);
        return seconds == null ? "" : ", about " + StatusFormat.age(now, now.plusSeconds(seconds)) + " left";
    }

    private void renderRunning(StatusHtml html, List<SnapshotRow> recent, List<RestoreRow> recentRestores, Instant now) {
        List<String> rows = new ArrayList<>();
        for (SnapshotRow row : recent) {
            if (row.status() == SnapshotStatus.RUNNING) {
                rows.add(new StatusHtml().raw("<tr><td>snapshot</td><td>").text(row.sourceName()).raw("</td><td><code>").text(row.id())
                        .raw("</code></td><td>running ").text(StatusFormat.age(row.startedAt(), now)).raw("</td><td>").text(StatusFormat.bytes(row.rawBytes()))
                        .text(" read, ").text(StatusFormat.bytes(row.storedBytes())).text(" stored").raw("</td></tr>").toString());
            }
        }
        for (RestoreRow row : recentRestores) {
            if (!row.phase().isFinal()) {
                String total = row.bytesTotal() == null ? "?" : StatusFormat.bytes(row.bytesTotal());
                rows.add(new StatusHtml().raw("<tr><td>restore</td><td>").text("snapshot " + row.snapshotId()).raw("</td><td><code>")
                        .text(row.id()).raw("</code></td><td>").text(row.phase().name()).raw("</td><td>").text(StatusFormat.bytes(row.bytesDone()))
                        .text(" of " + total + (row.phase() == dev.backstop.model.RestorePhase.RECOVERING ? " of WAL replayed" : "")
                                + eta(row, now)).raw("</td></tr>").toString());
            }
        }
        html.raw("<section><h2>Running</h2>");
        if (rows.isEmpty()) {
            html.raw("<p class=\"muted\">Nothing is running.</p>");
        } else {
            html.raw("<table><thead><tr><th>What</th><th>Of</th><th>Id</th><th>State</th><th>Progress</th></tr></thead><tbody>");
            rows.forEach(html::raw);
            html.raw("</tbody></table>");
        }
        html.raw("</section>");
    }

    private void renderFailures(StatusHtml html, List<SnapshotRow> recent, List<RestoreRow> recentRestores) {
        record Failure(Instant at, String what, String id, String reason) {}
        List<Failure> failures = new ArrayList<>();
        recent.stream().filter(r -> r.status() == SnapshotStatus.FAILED).limit(10).forEach(r -> failures.add(new Failure(
                r.finishedAt() == null ? r.startedAt() : r.finishedAt(), "snapshot of " + r.sourceName(), r.id(), r.error())));
        recent.stream().filter(r -> "FAILED".equals(r.verifyStatus())).limit(10).forEach(r -> failures.add(new Failure(
                r.verifiedAt(), "drill of " + r.sourceName(), r.id(), r.verifyDetail())));
        recentRestores.stream().filter(r -> r.phase() == dev.backstop.model.RestorePhase.FAILED).limit(10).forEach(r -> failures.add(
                new Failure(r.finishedAt() == null ? r.createdAt() : r.finishedAt(), "restore of " + r.snapshotId(), r.id(), r.error())));
        failures.sort((a, b) -> b.at().compareTo(a.at()));
        html.raw("<section><h2>Last failures</h2>");
        if (failures.isEmpty()) {
            html.raw("<p class=\"muted\">No failures among the recent snapshots, drills and restores.</p>");
        } else {
            html.raw("<ul class=\"failures\">");
            for (Failure f : failures.subList(0, Math.min(10, failures.size()))) {
                html.raw("<li><span class=\"fail\">").text(f.what()).raw("</span> <span class=\"muted\">").text(StatusFormat.format(f.at()))
                        .raw(" <code>").text(f.id()).raw("</code></span><br>").text(f.reason() == null ? "" : f.reason()).raw("</li>");
            }
            html.raw("</ul>");
        }
        html.raw("</section>");
    }

    private static final String CSS = """
            body{font:15px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;padding:12px;color:#1d2329;background:#f5f6f8}
            header{display:flex;flex-wrap:wrap;align-items:center;gap:8px;margin-bottom:8px}
            h1{font-size:22px;margin:0 8px 0 0}h2{font-size:17px;margin:18px 0 8px}h3{font-size:16px;margin:0 0 6px}
            nav{flex-basis:100%}nav a{margin-right:12px;color:#1f5fbf}
            .muted,small{color:#5d6770}code{font-size:12px;word-break:break-all}
            .badge{padding:2px 10px;border-radius:10px;font-weight:600;color:#fff}
            .badge.pass{background:#1e7e34}.badge.warn{background:#b7791f}.badge.fail{background:#c0392b}
            .pass{color:#1e7e34;font-weight:600}.warn{color:#b7791f;font-weight:600}.fail{color:#c0392b;font-weight:600}
            .badge.pass,.badge.warn,.badge.fail{color:#fff}
            .problem{background:#fdecea;padding:8px;border-radius:6px}
            .cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(280px,1fr));gap:10px}
            .card{background:#fff;border-radius:8px;padding:10px 12px;box-shadow:0 1px 2px rgba(0,0,0,.08)}
            dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 10px;margin:0}dt{color:#5d6770}dd{margin:0;min-width:0}
            section{overflow-x:auto}table{border-collapse:collapse;background:#fff;min-width:100%}
            th,td{text-align:left;padding:6px 8px;border-bottom:1px solid #e3e6ea;vertical-align:top}
            th{white-space:nowrap}td span{white-space:nowrap}td.where{overflow-wrap:anywhere}
            ul.failures{list-style:none;padding:0;margin:0}ul.failures li{background:#fff;margin:0 0 6px;padding:8px;border-radius:6px;word-break:break-word}
            """;
}
