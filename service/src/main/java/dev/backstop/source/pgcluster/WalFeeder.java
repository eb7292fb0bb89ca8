package dev.backstop.source.pgcluster;

import dev.backstop.source.SourceRestorer.Recovery;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Answers the server's {@code restore_command} during a point-in-time restore: reads which file the
 * script asks for ({@code want}), fetches it from storage (decoded, decrypted) with
 * {@link WalReplay#LOOKAHEAD} segments after it, has each segment's transactions read into the
 * {@link CommitScan} before recovery gets it, and reports the segments replayed as the server asks
 * for later ones. Runs on a thread of the source's managed pool from {@link #start} to {@link #close}.
 */
final class WalFeeder implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(WalFeeder.class);

    private final WalArchive archive;
    private final PgTools tools;
    private final Path directory;
    private final List<WalReplay.Entry> plan;
    private final Map<String, WalReplay.Entry> histories;
    private final long segmentSize;
    private final CommitScan scan;
    private final String label;
    private volatile Recovery recovery;
    /** How much of the previous segment's end is read again with a segment: a record crossing into it may begin there. */
    static final long CONTINUATION = 2L << 20;
    private volatile boolean closed;
    private volatile String failure;
    private final Object lock = new Object();
    /** The thread feeding while it feeds (a pool's: only then is it interrupted by {@link #close}); guarded by {@code lock}. */
    private Thread running;
    private final java.util.concurrent.CountDownLatch ended = new java.util.concurrent.CountDownLatch(1);
    private static final long REPORT_EVERY_NANOS = 1_000_000_000L;
    /** When progress was last passed on (0: never). */
    private long reportedAt;

    WalFeeder(WalArchive archive, PgTools tools, Path directory, List<WalReplay.Entry> plan, Map<String, WalReplay.Entry> histories,
            long segmentSize, CommitScan scan, String label) {
        this.archive = archive;
        this.tools = tools;
        this.directory = directory;
        this.plan = plan;
        this.histories = histories;
        this.segmentSize = segmentSize;
        this.scan = scan;
        this.label = label;
    }

    /**
     * The transaction ends in WAL files (one, or two consecutive ones of a timeline), in order, read
     * with pg_waldump from the first record at or after {@code from} up to {@code to} (-1: the files'
     * start, their end).
     */
    static void transactions(PgTools tools, long from, long to, List<Path> files,
            java.util.function.Consumer<CommitScan.Transaction> each) throws IOException {
        List<String> command = new ArrayList<>(List.of(tools.tool("pg_waldump"), "--rmgr=Transaction"));
        if (from >= 0) {
            command.add("--start=" + Wal.lsn(from));
        }
        if (to >= 0) {
            command.add("--end=" + Wal.lsn(to));
        }
        files.forEach(f -> command.add(f.toString()));
        tools.processes().lines(command, 300, line -> {
            CommitScan.Transaction t = CommitScan.parse(line);
            if (t != null) {
                each.accept(t);
            }
        });
    }

    /** Starts feeding on {@code pool} (the source's managed pool; null: a thread of its own, outside the server). */
    void start(Recovery listener, java.util.concurrent.ExecutorService pool) {
        recovery = listener;
        Runnable run = () -> {
            try {
                synchronized (lock) {
                    if (closed) {
                        return;
                    }
                    running = Thread.currentThread();
                }
                try {
                    feed();
                } finally {
                    synchronized (lock) {
                        running = null;
                        Thread.interrupted(); // an interrupt meant for this feeder never reaches the pool thread's next task
                    }
                }
            } finally {
                ended.countDown();
            }
        };
        if (pool != null) {
            pool.execute(run);
        } else {
            Thread thread = new Thread(run, "wal-replay-" + label);
            thread.setDaemon(true);
            thread.start();
        }
    }

    /** Why fetching failed, or null. */
    String failure() {
        return failure;
    }

    /**
     * Hears that {@code segmentsDone} of the plan were replayed: passed on at the first call, at the
     * end, and otherwise at most once a second: each is a catalog write on the feeder's thread, and
     * one per segment made recovery wait for the feeder (about 3 s of a 69-segment restore, bench/pitr.sh).
     */
    synchronized void report(int segmentsDone) {
        long now = System.nanoTime();
        if (reportedAt != 0 && segmentsDone < plan.size() && now - reportedAt < REPORT_EVERY_NANOS) {
            return;
        }
        reportedAt = now == 0 ? 1 : now;
        Recovery listener = recovery;
        if (listener != null) {
            try {
                listener.replayed(segmentsDone * segmentSize, plan.size() * segmentSize);
            } catch (RuntimeException e) {
                LOG.debug("Point-in-time restore into {}: progress not recorded: {}", label, e.getMessage());
            }
        }
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
                WalReplay.Entry history = histories.get(name);
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
                    if (!want.equals(lastWant) && !Files.exists(wal.resolve(name)) && fetched.remove(name)) {
                        // Asked for again (recovery read it and wants it once more, as at its end for the last record
                        // replayed): fetched anew, not scanned anew. A newer copy of a partial segment holds more WAL
                        // than recovery replayed from the first (it re-reads one record and ends): scanned again, it
                        // made the check expect commits never replayed, "recovery stopped short" on a restore to
                        // latest while the source wrote. A server that does replay further from it is logged.
                        LOG.info("Point-in-time restore into {}: recovery asks for {} again", label, name);
                    }
                    for (int i = index; i < Math.min(plan.size(), index + WalReplay.LOOKAHEAD) && !closed; i++) {
                        WalReplay.Entry entry = plan.get(i);
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
                LOG.warn("Point-in-time restore into {}: {}", label, failure);
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
     * renamed: the script never sees half a file. A segment's transactions are read the first time it is fetched.
     */
    private void fetchInto(WalReplay.Entry entry, Path wal, int index) throws IOException {
        Path part = wal.resolve(entry.name() + ".part");
        try {
            archive.fetch(entry.key(), part);
        } catch (IOException e) {
            throw new IOException(entry.key() + ": " + e.getMessage(), e);
        }
        if (index >= 0 && !scan.scanned(index)) {
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

    /**
     * Reads a fetched segment's transactions; when the previous segment is still linked beside it
     * (same timeline), also the stretch around their boundary, from {@link #CONTINUATION} before it
     * to as far after: a record that begins in the previous segment and ends in this one is only
     * readable from both. (Reading the whole previous segment again doubled pg_waldump's work per
     * segment, on the thread recovery waits for: bench/pitr.sh's pgbench WAL has ~30,000
     * transactions a segment.) A previous segment that a switch ended has no valid record there, and
     * nothing crosses. A record that begins further back is missed by the scan: the server then
     * reaches further than the scan saw, which is logged, never a failure.
     */
    private void scan(int index, Path file) throws IOException {
        Path previous = index > 0 ? file.resolveSibling(plan.get(index - 1).name()) : null;
        boolean withPrevious = previous != null && Files.exists(previous)
                && Wal.timeline(plan.get(index - 1).name()) == Wal.timeline(plan.get(index).name());
        long start = Wal.segmentNumber(plan.get(index).name(), segmentSize) * segmentSize;
        CommitScan.SegmentFold fold = scan.segment(index, start, withPrevious);
        transactions(tools, -1, -1, List.of(file), fold);
        if (withPrevious) {
            long window = Math.min(CONTINUATION, segmentSize / 2);
            // The fold takes each transaction once: those of this segment were read above.
            transactions(tools, start - window, start + window, List.of(previous, file), fold);
        }
        fold.finish();
    }

    private int indexOf(String name) {
        for (int i = 0; i < plan.size(); i++) {
            if (plan.get(i).name().equals(name)) {
                return i;
            }
        }
        return -1;
    }

    /** Stops fetching (waits up to 10 s for a fetch in progress). */
    @Override
    public void close() {
        closed = true;
        if (recovery == null) {
            return; // never started
        }
        synchronized (lock) {
            if (running != null) {
                running.interrupt();
            }
        }
        try {
            ended.await(10, java.util.concurrent.TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
