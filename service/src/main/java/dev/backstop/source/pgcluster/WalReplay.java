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
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Replays archived WAL into a restored base backup, up to a point in time. The WAL it needs is
 * planned once from storage's listings ({@link WalChain}: the base backup's start segment onward,
 * contiguous, the partial segment last under its full name); the server's {@code restore_command}
 * is a small script in the data directory that asks for a file and waits for it; a
 * {@link WalFeeder} fetches each asked-for segment with a few after it, so the disk holds only
 * {@link #LOOKAHEAD} segments beyond what recovery has read, and a {@link CommitScan} of those
 * segments says which point the server must reach. This class writes and removes the recovery
 * settings and ties the three together.
 */
final class WalReplay implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(WalReplay.class);
    static final String DIRECTORY = "backstop_restore";
    static final int LOOKAHEAD = 4;
    private static final Pattern START = Pattern.compile("START WAL LOCATION: (\\S+) \\(file ([0-9A-F]{24})\\)");

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
    /** Why the chain stops short of later archived WAL, or null. */
    private final String gap;
    private CommitScan scan;
    private WalFeeder feeder;

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
                    WalFeeder.transactions(tools, -1, -1, List.of(file), t -> last[0] = t.at());
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
     * Checks that recovery reached the point the archived WAL says it must: the last transaction
     * before the first one after the target (the last one of all without a target), read from the
     * segments as they were first fetched. A server that stopped short of it skipped WAL it was given (a
     * feeder that answered "no such file" too soon, a segment that ended short): never a restore.
     * One that went further than the scan saw is logged (the scan missed a record; the server is
     * right). Not checked when a segment recovery read was not scanned (logged).
     */
    void checkReached(Instant recoveredTo) throws IOException {
        CommitScan.Expected expected = scan.expected(plan.stream().map(Entry::name).toList());
        if (expected.unscanned() != null) {
            LOG.warn("Point-in-time restore into {}: segment {} was not scanned, so the point reached is not checked against "
                    + "the WAL", dataDirectory, expected.unscanned());
            return;
        }
        if (scan.reachedFurther(recoveredTo, expected)) {
            // Further than the scan saw (a record the scan could not read, e.g. one that crosses into a
            // new timeline's first segment): the server's word stands; it is not after the point (checked).
            LOG.warn("Point-in-time restore into {}: recovery reached {}, later than the last transaction the scan of the WAL "
                    + "found ({}); the scan missed a record", dataDirectory, recoveredTo, expected.point());
        }
    }

    /** Writes the restore_command script, the list, {@code recovery.signal} and the recovery settings. */
    void prepare(Instant target) throws IOException {
        this.scan = new CommitScan(startLsn, target);
        this.feeder = new WalFeeder(archive, tools, directory, plan, histories, segmentSize, scan, dataDirectory.getFileName().toString());
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

    /** Starts fetching what recovery asks for; {@code listener} hears the WAL replayed of the WAL planned, in bytes. */
    void start(dev.backstop.source.SourceRestorer.Recovery listener, java.util.concurrent.ExecutorService pool) {
        feeder.start(listener, pool);
    }

    /** The whole plan was replayed (recovery promoted). */
    void replayedAll() {
        feeder.report(plan.size());
    }

    /** Why fetching failed, or null. */
    String failure() {
        return feeder == null ? null : feeder.failure();
    }

    /** Stops the feeder, removes the script and its files, and the restore's recovery settings from postgresql.auto.conf. */
    @Override
    public void close() {
        if (feeder != null) {
            feeder.close();
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
