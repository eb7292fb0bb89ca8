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
import java.util.Set;
import java.util.TreeSet;
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
    private static final Pattern COMMIT = Pattern.compile("desc: COMMIT (\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}:\\d{2}(?:\\.\\d+)?) UTC");
    private static final DateTimeFormatter PG_TIME = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss[.SSSSSS]");

    /** One file recovery may ask for, and where it is stored. */
    record Entry(String name, String key) {}

    private final WalArchive archive;
    private final PgTools tools;
    private final Path dataDirectory;
    private final Path directory;
    private final List<Entry> plan;
    private volatile boolean closed;
    private volatile String failure;
    private Thread feeder;

    private WalReplay(WalArchive archive, PgTools tools, Path dataDirectory, List<Entry> plan) {
        this.archive = archive;
        this.tools = tools;
        this.dataDirectory = dataDirectory;
        this.directory = dataDirectory.resolve(DIRECTORY);
        this.plan = List.copyOf(plan);
    }

    /** The WAL after the base backup in {@code dataDirectory} (its {@code backup_label}), checked for gaps. */
    static WalReplay plan(WalArchive archive, PgTools tools, Path dataDirectory) throws IOException {
        return plan(archive, tools, dataDirectory, Files.readString(dataDirectory.resolve("backup_label"), StandardCharsets.UTF_8));
    }

    /** As {@link #plan(WalArchive, PgTools, Path)}, from the text of the base backup's {@code backup_label}. */
    static WalReplay plan(WalArchive archive, PgTools tools, Path dataDirectory, String label) throws IOException {
        Matcher m = START.matcher(label);
        if (!m.find()) {
            throw new IOException("the base backup's backup_label names no start segment: " + label.lines().findFirst().orElse(""));
        }
        String start = m.group(2);
        WalArchive.Status status = archive.status();
        if (status == null) {
            throw new IOException("no WAL of this source is archived yet (no status.json)");
        }
        long segmentSize = status.segmentSize();
        int timeline = Wal.timeline(start);
        TreeSet<String> stored = archive.segments(timeline);
        List<Entry> entries = new ArrayList<>();
        String expected = start;
        for (String segment : stored.tailSet(start, true)) {
            if (!segment.equals(expected)) {
                throw new IOException("the WAL chain has a gap: " + expected + " is missing before " + segment
                        + "; restore a point before it, or from a base backup taken after it");
            }
            entries.add(new Entry(segment, archive.segmentKey(segment)));
            expected = Wal.next(segment, segmentSize);
        }
        String partial = status.partialSegment();
        if (partial != null && partial.equals(expected) && Wal.timeline(partial) == timeline
                && archive.target().exists(archive.partialKey(partial))) {
            entries.add(new Entry(partial, archive.partialKey(partial)));
        }
        if (entries.isEmpty()) {
            throw new IOException("no WAL from the base backup's start segment " + start + " is archived");
        }
        return new WalReplay(archive, tools, dataDirectory, entries);
    }

    int segments() {
        return plan.size();
    }

    String range() {
        return plan.get(0).name() + ".." + plan.get(plan.size() - 1).name();
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
                String out;
                try {
                    out = PgTools.runIgnoringExit(List.of(tools.tool("pg_waldump"), "--rmgr=Transaction", file.toString()), 300);
                } finally {
                    Files.deleteIfExists(file);
                }
                Instant last = null;
                for (Matcher m = COMMIT.matcher(out); m.find(); ) {
                    last = LocalDateTime.parse(m.group(1), PG_TIME).toInstant(ZoneOffset.UTC);
                }
                if (last != null) {
                    return last;
                }
            }
            return null;
        } finally {
            FileTrees.delete(scratch);
        }
    }

    /** Writes the restore_command script, the list, {@code recovery.signal} and the recovery settings. */
    void prepare(Instant target) throws IOException {
        Files.createDirectories(directory.resolve("wal"));
        Files.writeString(directory.resolve("plan"), String.join("\n", plan.stream().map(Entry::name).toList()) + "\n");
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
                .append("recovery_target_timeline = 'current'\n");
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
                int index = indexOf(name);
                if (index >= 0) {
                    if (index < lastIndex) {
                        fetched.clear(); // recovery restarted from an earlier segment
                    }
                    if (!want.equals(lastWant) && !Files.exists(wal.resolve(name))) {
                        fetched.remove(name); // asked for again
                    }
                    for (int i = index; i < Math.min(plan.size(), index + LOOKAHEAD) && !closed; i++) {
                        Entry entry = plan.get(i);
                        if (fetched.add(entry.name())) {
                            // Fetched under another name, handed to the server's user (it opens the file read-write),
                            // then renamed: the script never sees half a segment.
                            Path part = wal.resolve(entry.name() + ".part");
                            try {
                                archive.fetch(entry.key(), part);
                            } catch (IOException e) {
                                throw new IOException(entry.key() + ": " + e.getMessage(), e);
                            }
                            tools.handOver(part);
                            Files.move(part, wal.resolve(entry.name()), StandardCopyOption.ATOMIC_MOVE);
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
