package dev.backstop.source.pgcluster;

import dev.backstop.source.FileTrees;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Replays archived WAL into a restored base backup, up to a point in time. The WAL it needs is
 * listed once (the base backup's start segment onward, contiguous, the partial segment last under
 * its full name); the server's {@code restore_command} is a small script in the data directory
 * that asks for a file and waits for it, and a feeder thread here fetches each asked-for segment
 * from storage (decoded and decrypted) with a few after it, so the disk holds only
 * {@link #LOOKAHEAD} segments beyond what recovery has read.
 */
final class WalReplay implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(WalReplay.class);
    static final String DIRECTORY = "backstop_restore";
    static final int LOOKAHEAD = 4;
    private static final Pattern START = Pattern.compile("START WAL LOCATION: (\\S+) \\(file ([0-9A-F]{24})\\)");
    /**
     * A transaction's end as pg_waldump prints it (in UTC): the records recovery stops at for a
     * target time and whose time {@code pg_last_xact_replay_timestamp()} reports.
     */
    private static final Pattern TRANSACTION = Pattern.compile("lsn: ([0-9A-F]+/[0-9A-F]+), .*desc: (?:COMMIT|ABORT)"
            + "(?:_PREPARED \\d+:)? (\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}:\\d{2}(?:\\.\\d+)?) UTC");
    private static final DateTimeFormatter PG_TIME = new java.time.format.DateTimeFormatterBuilder()
            .appendPattern("yyyy-MM-dd HH:mm:ss").optionalStart()
            .appendFraction(java.time.temporal.ChronoField.NANO_OF_SECOND, 1, 9, true).optionalEnd().toFormatter();

    /** One file recovery may ask for, and where it is stored. */
    record Entry(String name, String key) {}

    private final WalArchive archive;
    private final PgTools tools;
    private final Path dataDirectory;
    private final Path directory;
    private final List<Entry> plan;
    private final Map<String, Entry> histories;
    private final int targetTimeline;
    private final long startLsn;
    private final long segmentSize;
    private final Map<Integer, Scanned> scanned = new java.util.concurrent.ConcurrentHashMap<>();
    private volatile Instant target;
    private volatile boolean closed;
    private volatile String failure;
    private Thread feeder;
    /** Why the chain stops short of later archived WAL, or null. */
    private final String gap;
    private volatile dev.backstop.source.SourceRestorer.Recovery recovery;

    private WalReplay(WalArchive archive, PgTools tools, Path dataDirectory, List<Entry> plan, List<Entry> histories,
            int targetTimeline, long startLsn, long segmentSize, String gap) {
        this.gap = gap;
        this.archive = archive;
        this.tools = tools;
        this.dataDirectory = dataDirectory;
        this.directory = dataDirectory.resolve(DIRECTORY);
        this.plan = List.copyOf(plan);
        this.histories = histories.stream().collect(java.util.stream.Collectors.toMap(Entry::name, e -> e));
        this.targetTimeline = targetTimeline;
        this.startLsn = startLsn;
        this.segmentSize = segmentSize;
    }

    /** The WAL after the base backup in {@code dataDirectory} (its {@code backup_label}), checked for gaps. */
    static WalReplay plan(WalArchive archive, PgTools tools, Path dataDirectory) throws IOException {
        return plan(archive, tools, dataDirectory, Files.readString(dataDirectory.resolve("backup_label"), StandardCharsets.UTF_8));
    }

    /**
     * As {@link #plan(WalArchive, PgTools, Path)}, from the text of the base backup's {@code backup_label}.
     * The WAL follows the newest archived timeline whose history passes through the base backup
     * (its timeline ended after the backup's start): each segment comes from the newest timeline on
     * that path that had begun by it, as PostgreSQL's recovery reads them, and every archived
     * history file is offered too (recovery reads the target's, and probes the later ones when it
     * picks its own new timeline).
     */
    static WalReplay plan(WalArchive archive, PgTools tools, Path dataDirectory, String label) throws IOException {
        Matcher m = START.matcher(label);
        if (!m.find()) {
            throw new IOException("the base backup's backup_label names no start segment: " + label.lines().findFirst().orElse(""));
        }
        String start = m.group(2);
        long startLsn = Wal.lsn(m.group(1));
        WalArchive.Status status = archive.status();
        if (status == null) {
            throw new IOException("no WAL of this source is archived yet (no status.json)");
        }
        long segmentSize = status.segmentSize();
        java.util.TreeMap<Integer, String> histories = archive.histories();
        java.util.TreeMap<Integer, List<Wal.Switch>> switches = new java.util.TreeMap<>();
        for (Map.Entry<Integer, String> history : histories.entrySet()) {
            if (history.getKey() > Wal.timeline(start)) {
                try {
                    switches.put(history.getKey(), Wal.switches(archive.readHistory(history.getValue())));
                } catch (IllegalArgumentException e) {
                    throw new IOException("the archived timeline history " + history.getValue() + " cannot be read: " + e.getMessage(), e);
                }
            }
        }
        WalChain chain;
        try {
            chain = WalChain.plan(start, startLsn, segmentSize, switches, timeline -> {
                try {
                    return archive.segments(timeline);
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            }, name -> {
                try {
                    return archive.target().exists(archive.partialKey(name));
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
        } catch (java.io.UncheckedIOException e) {
            throw e.getCause();
        } catch (IllegalArgumentException e) {
            throw new IOException(e.getMessage(), e);
        }
        List<Entry> entries = new ArrayList<>();
        for (int i = 0; i < chain.segments().size(); i++) {
            String name = chain.segments().get(i);
            boolean partial = chain.partialLast() && i == chain.segments().size() - 1;
            entries.add(new Entry(name, partial ? archive.partialKey(name) : archive.segmentKey(name)));
        }
        int targetTimeline = chain.timeline();
        String gap = chain.gap();
        List<Entry> historyEntries = histories.values().stream().map(h -> new Entry(h, archive.historyKey(h))).toList();
        return new WalReplay(archive, tools, dataDirectory, entries, historyEntries, targetTimeline, startLsn, segmentSize, gap);
    }

    /**
     * Throws when the chain stops at a gap while later WAL is archived: then "latest" (its end) is
     * not the archive's end. A point before the gap restores from the chain as it is; whether the
     * point lies before the gap's end was decided when the request arrived ({@code PointChecks}).
     */
    void requireNoGap() throws IOException {
        if (gap != null) {
            throw new IOException(gap);
        }
    }

    /** The timeline recovery follows (the base backup's, or the newest archived one descending from it). */
    int timeline() {
        return targetTimeline;
    }

    int segments() {
        return plan.size();
    }

    /** The first and last segment replayed, and the timeline followed when it is not the base backup's. */
    String range() {
        String range = plan.get(0).name() + ".." + plan.get(plan.size() - 1).name();
        return Wal.timeline(plan.get(0).name()) == targetTimeline ? range : range + " onto timeline " + targetTimeline;
    }

    /**
     * The time of the last commit in the archived WAL, read with {@code pg_waldump} from the newest
     * segments backwards; null when the chain holds no commit. A target after it is "latest":
     * PostgreSQL would otherwise end recovery with "recovery ended before configured recovery
     * target was reached".
     */
    Instant lastCommit(Path scratch) throws IOException {
        Files.createDirectories(scratch);
        try {
            for (int i = plan.size() - 1; i >= 0; i--) {
                Entry entry = plan.get(i);
                Path file = scratch.resolve(entry.name());
                try {
                    archive.fetch(entry.key(), file);
                } catch (IOException e) {
                    throw new IOException("cannot fetch WAL from storage: " + entry.key() + ": " + e.getMessage(), e);
                }
                Instant[] last = new Instant[1];
                try {
                    transactions(List.of(file), (at, lsn) -> last[0] = at);
                } finally {
                    Files.deleteIfExists(file);
                }
                if (last[0] != null) {
                    return last[0];
                }
            }
            return null;
        } finally {
            FileTrees.delete(scratch);
        }
    }

    /**
     * The transaction records of WAL files (one, or two consecutive ones of a timeline), in order:
     * each one's time and LSN. A record that continues into a file not given is not read.
     */
    private void transactions(List<Path> files, java.util.function.ObjLongConsumer<Instant> each) throws IOException {
        List<String> command = new ArrayList<>(List.of(tools.tool("pg_waldump"), "--rmgr=Transaction"));
        files.forEach(f -> command.add(f.toString()));
        tools.processes().lines(command, 300, line -> {
            Matcher m = TRANSACTION.matcher(line);
            if (m.find()) {
                each.accept(LocalDateTime.parse(m.group(2), PG_TIME).toInstant(ZoneOffset.UTC), Wal.lsn(m.group(1)));
            }
        });
    }

    /**
     * What one replayed segment says about the point recovery must reach: its last transaction
     * before the first one after the target (or its last one, without a target), and whether it
     * holds one after the target (where recovery stops).
     */
    private record Scanned(Instant lastBefore, boolean passesTarget) {}

    /** Folds one segment's transaction records, in order, into its {@link Scanned}. */
    private final class Fold {
        private Instant last;
        private boolean passes;

        void add(Instant at, long lsn) {
            if (passes || Long.compareUnsigned(lsn, startLsn) < 0) {
                return; // after the stop, or before the base backup's start: not replayed
            }
            if (target != null && at.isAfter(target)) {
                passes = true;
            } else {
                last = at;
            }
        }

        Scanned result() {
            return new Scanned(last, passes);
        }
    }

    /**
     * Reads a fetched segment's transactions before it is handed to recovery. The previous
     * segment (still linked beside it, same timeline) is read with it: a record that begins there
     * and ends here is only readable from both, and both segments' summaries are folded again.
     */
    private void scan(int index, Path file) throws IOException {
        Path previous = index > 0 ? file.resolveSibling(plan.get(index - 1).name()) : null;
        boolean withPrevious = previous != null && Files.exists(previous)
                && Wal.timeline(plan.get(index - 1).name()) == Wal.timeline(plan.get(index).name());
        long start = Wal.segmentNumber(plan.get(index).name(), segmentSize) * segmentSize;
        Fold before = new Fold();
        Fold here = new Fold();
        transactions(withPrevious ? List.of(previous, file) : List.of(file),
                (at, lsn) -> (Long.compareUnsigned(lsn, start) < 0 ? before : here).add(at, lsn));
        if (withPrevious) {
            scanned.put(index - 1, before.result());
        }
        scanned.put(index, here.result());
    }

    /**
     * Checks that recovery reached the point the archived WAL says it must: the last transaction
     * before the first one after the target (the last one of all without a target), read from the
     * segments as they were fetched. A server that stopped short of it skipped WAL it was given (a
     * feeder that answered "no such file" too soon, a segment that ended short): never a restore.
     * One that went further than the scan saw is logged (the scan missed a record; the server is
     * right). Not checked when a segment recovery read was not scanned (logged).
     */
    void checkReached(Instant recoveredTo) throws IOException {
        Instant expected = null;
        for (int i = 0; i < plan.size(); i++) {
            Scanned s = scanned.get(i);
            if (s == null) {
                LOG.warn("Point-in-time restore into {}: segment {} was not scanned, so the point reached is not checked against "
                        + "the WAL", dataDirectory, plan.get(i).name());
                return;
            }
            if (s.lastBefore() != null) {
                expected = s.lastBefore();
            }
            if (s.passesTarget()) {
                break;
            }
        }
        if (java.util.Objects.equals(expected, recoveredTo)) {
            return;
        }
        if (recoveredTo != null && (expected == null || recoveredTo.isAfter(expected))) {
            // Further than the scan saw (a record the scan could not read, e.g. one that crosses into a
            // new timeline's first segment): the server's word stands; it is not after the point (checked).
            LOG.warn("Point-in-time restore into {}: recovery reached {}, later than the last transaction the scan of the WAL "
                    + "found ({}); the scan missed a record", dataDirectory, recoveredTo, expected);
            return;
        }
        throw new IOException("recovery stopped short: it reached " + (recoveredTo == null ? "no transaction" : recoveredTo)
                + ", but the archived WAL it was given holds a transaction at " + expected
                + (target == null ? " (its last)" : " (the last before the point)") + "; the copy is discarded");
    }

    /** Writes the restore_command script, the list, {@code recovery.signal} and the recovery settings. */
    void prepare(Instant target) throws IOException {
        this.target = target;
        Files.createDirectories(directory.resolve("wal"));
        List<String> names = new ArrayList<>(histories.keySet());
        plan.forEach(e -> names.add(e.name()));
        Files.writeString(directory.resolve("plan"), String.join("\n", names) + "\n");
        Path script = directory.resolve("fetch.sh");
        Files.writeString(script, """
                #!/bin/sh
                # Backstop's restore_command: asks for a WAL file and waits until Backstop has fetched it.
                d='%s'
                echo "$1 $$" > "$d/want.$$" && mv -f "$d/want.$$" "$d/want"
                while :; do
                  if [ -f "$d/wal/$1" ]; then exec mv -f "$d/wal/$1" "$2"; fi
                  grep -qxF "$1" "$d/plan" || exit 1
                  if [ -f "$d/failed" ]; then exit 1; fi
                  sleep 0.05
                done
                """.formatted(directory));
        Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwxr-xr-x"));
        StringBuilder settings = new StringBuilder("\n# Added by Backstop's point-in-time restore (removed once it has promoted)\n")
                .append("restore_command = '\"").append(script).append("\" \"%f\" \"%p\"'\n")
                .append("recovery_target_action = 'promote'\n")
                .append("recovery_target_timeline = '").append(targetTimeline).append("'\n");
        if (target != null) {
            settings.append("recovery_target_time = '").append(DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss.SSSSSS")
                    .format(target.atOffset(ZoneOffset.UTC))).append("+00'\n");
        }
        Files.writeString(dataDirectory.resolve("postgresql.auto.conf"), settings, StandardCharsets.UTF_8, StandardOpenOption.APPEND);
        Files.writeString(dataDirectory.resolve("recovery.signal"), "");
        tools.handOver(directory);
    }

    /** Starts fetching what recovery asks for. */
    void start() {
        feeder = new Thread(this::feed, "wal-replay-" + dataDirectory.getFileName());
        feeder.setDaemon(true);
        feeder.start();
    }

    /** Hears the WAL replayed of the WAL planned (in bytes, a segment at a time) as recovery asks for segments. */
    void onProgress(dev.backstop.source.SourceRestorer.Recovery listener) {
        this.recovery = listener;
    }

    /** The whole plan was replayed (recovery promoted). */
    void replayedAll() {
        report(plan.size());
    }

    private void report(int segmentsDone) {
        dev.backstop.source.SourceRestorer.Recovery listener = recovery;
        if (listener != null) {
            try {
                listener.replayed(segmentsDone * segmentSize, plan.size() * segmentSize);
            } catch (RuntimeException e) {
                LOG.debug("Point-in-time restore into {}: progress not recorded: {}", dataDirectory, e.getMessage());
            }
        }
    }

    /** Why fetching failed, or null. */
    String failure() {
        return failure;
    }

    private void feed() {
        Set<String> fetched = new HashSet<>();
        String lastWant = "";
        int lastIndex = -1;
        Path wal = directory.resolve("wal");
        while (!closed) {
            try {
                Path wantFile = directory.resolve("want");
                String want = Files.exists(wantFile) ? Files.readString(wantFile).trim() : "";
                String name = want.isEmpty() ? plan.get(0).name() : want.split(" ")[0];
                Entry history = histories.get(name);
                if (history != null) {
                    // Asked for alone (recovery reads it whole, then removes it): no look-ahead, no effect on the segments'.
                    if (!want.equals(lastWant) && !Files.exists(wal.resolve(name))) {
                        fetchInto(history, wal, -1);
                    }
                    lastWant = want;
                    Thread.sleep(25);
                    continue;
                }
                int index = indexOf(name);
                if (index >= 0) {
                    if (index < lastIndex) {
                        fetched.clear(); // recovery restarted from an earlier segment
                    }
                    if (index != lastIndex) {
                        report(index); // the segments before the one asked for are replayed
                    }
                    if (!want.equals(lastWant) && !Files.exists(wal.resolve(name))) {
                        fetched.remove(name); // asked for again
                    }
                    for (int i = index; i < Math.min(plan.size(), index + LOOKAHEAD) && !closed; i++) {
                        Entry entry = plan.get(i);
                        if (fetched.add(entry.name())) {
                            fetchInto(entry, wal, i);
                        }
                    }
                    lastIndex = index;
                }
                lastWant = want;
                Thread.sleep(25);
            } catch (InterruptedException e) {
                return;
            } catch (Exception e) {
                failure = "cannot fetch WAL from storage: " + e.getMessage();
                LOG.warn("Point-in-time restore into {}: {}", dataDirectory, failure);
                try {
                    Files.writeString(directory.resolve("failed"), failure);
                } catch (IOException ignored) {
                    // the server then waits until the restore times out
                }
                return;
            }
        }
    }

    /**
     * Fetched under another name, handed to the server's user (it opens the file read-write), then
     * renamed: the script never sees half a file. A segment's transactions are read first ({@link #checkReached}).
     */
    private void fetchInto(Entry entry, Path wal, int index) throws IOException {
        Path part = wal.resolve(entry.name() + ".part");
        try {
            archive.fetch(entry.key(), part);
        } catch (IOException e) {
            throw new IOException(entry.key() + ": " + e.getMessage(), e);
        }
        if (index >= 0) {
            // pg_waldump opens files by their segment names: a link under that name, beside recovery's files.
            // The link stays until the next segment is scanned (at most one segment's worth of disk).
            Path named = directory.resolve("scan").resolve(entry.name());
            Files.createDirectories(named.getParent());
            Files.deleteIfExists(named);
            Files.createLink(named, part);
            try {
                scan(index, named);
            } finally {
                if (index > 0) {
                    Files.deleteIfExists(named.resolveSibling(plan.get(index - 1).name()));
                }
            }
        }
        tools.handOver(part);
        Files.move(part, wal.resolve(entry.name()), StandardCopyOption.ATOMIC_MOVE);
    }

    private int indexOf(String name) {
        for (int i = 0; i < plan.size(); i++) {
            if (plan.get(i).name().equals(name)) {
                return i;
            }
        }
        return -1;
    }

    /** Stops the feeder, removes the script and its files, and the restore's recovery settings from postgresql.auto.conf. */
    @Override
    public void close() {
        closed = true;
        if (feeder != null) {
            feeder.interrupt();
            try {
                feeder.join(10_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        try {
            FileTrees.delete(directory);
            Path conf = dataDirectory.resolve("postgresql.auto.conf");
            if (Files.exists(conf)) {
                List<String> kept = Files.readAllLines(conf).stream().filter(line -> !line.startsWith("restore_command")
                        && !line.startsWith("recovery_target") && !line.startsWith("# Added by Backstop's point-in-time")).toList();
                Path temp = conf.resolveSibling("postgresql.auto.conf.backstop-tmp");
                Files.write(temp, kept);
                Files.move(temp, conf, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
                tools.handOver(conf);
            }
        } catch (IOException e) {
            LOG.warn("Cannot tidy {} after its point-in-time restore: {}", dataDirectory, e.getMessage());
        }
    }
}
