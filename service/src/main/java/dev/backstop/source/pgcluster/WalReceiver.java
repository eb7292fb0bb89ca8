package dev.backstop.source.pgcluster;

import dev.backstop.source.StderrTail;
import dev.failsafe.Call;
import dev.failsafe.Failsafe;
import dev.failsafe.FailsafeException;
import dev.failsafe.RetryPolicy;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Supervises {@code pg_receivewal --slot S --synchronous --no-loop} writing into the spool: identifies
 * the cluster first, creates the slot, restarts the receiver with backoff (1 s doubling to 30 s,
 * through Failsafe) whenever it exits, stands by while another client (another node) streams the
 * slot, and starts over at the server's position when the server no longer has the WAL the archive
 * needs. Owns one value, {@link ReceiverState}, published whole after every change.
 */
final class WalReceiver {
    private static final Logger LOG = LoggerFactory.getLogger(WalReceiver.class);
    private static final Duration MAX_BACKOFF = Duration.ofSeconds(30);
    /** How long a standby's receiver must run before it counts as streaming (one that finds the slot taken exits at once). */
    private static final Duration TAKEOVER = Duration.ofSeconds(2);
    static final Duration STANDBY_RETRY = Duration.ofSeconds(5);
    /** A receiver that exits sooner than this never streamed: its start does not end the outage. */
    private static final Duration SHORT_LIVED = Duration.ofSeconds(10);
    /** A receiver that ran this long before it failed starts a new backoff (a new failure, not the same one again). */
    private static final Duration RAN_A_WHILE = Duration.ofMinutes(1);
    private static final Pattern REMOVED = Pattern.compile("requested WAL segment ([0-9A-F]{24}) has already been removed");

    /** pg_receivewal found the slot streamed by another client: retried at a fixed pace, not with backoff. */
    private static final class SlotHeldElsewhere extends Exception {
        SlotHeldElsewhere() {
            super("the slot is streamed by another client", null, false, false);
        }
    }

    private final ClusterSourceFactory config;
    private final PgTools tools;
    private final Path spool;
    private final Clock clock;
    private final ExecutorService thread;
    private final WalUploader uploader;

    private volatile ReceiverState state;
    private volatile Process process;
    private volatile Call<Void> call;
    private volatile boolean stopping;
    /** Touched by the supervising thread only. */
    private boolean identified;
    /** The removed segment the receiver last had to start over from (null: none); supervising thread only. */
    private String startedOverAt;

    WalReceiver(ClusterSourceFactory config, PgTools tools, Path spool, Clock clock, ExecutorService thread, WalUploader uploader) {
        this.config = config;
        this.tools = tools;
        this.spool = spool;
        this.clock = clock;
        this.thread = thread;
        this.uploader = uploader;
        this.state = ReceiverState.starting(clock.instant());
    }

    ReceiverState state() {
        return state;
    }

    void start() {
        state = ReceiverState.starting(clock.instant());
        thread.execute(this::supervise);
    }

    /** Runs until {@link #stop()}: each Failsafe execution ends when a receiver that ran a while exits (a fresh backoff). */
    private void supervise() {
        RetryPolicy<Void> standby = RetryPolicy.<Void>builder()
                .handleIf((result, failure) -> failure instanceof SlotHeldElsewhere && !stopping)
                .withDelay(STANDBY_RETRY).withMaxRetries(-1).build();
        RetryPolicy<Void> restart = RetryPolicy.<Void>builder()
                .handleIf((result, failure) -> failure != null && !(failure instanceof SlotHeldElsewhere)
                        && !(failure instanceof InterruptedException) && !stopping)
                .withBackoff(Duration.ofSeconds(1), MAX_BACKOFF).withMaxRetries(-1)
                .onRetryScheduled(e -> LOG.warn("WAL archive of {}: {}; retrying in {} s", config.name(),
                        e.getLastException().getMessage(), e.getDelay().toSeconds()))
                .build();
        while (!stopping) {
            Call<Void> next = Failsafe.with(restart, standby).newCall((dev.failsafe.function.ContextualRunnable<Void>) context -> streamOnce());
            call = next;
            if (stopping) {
                return; // stop() ran before the call was visible to it
            }
            try {
                next.execute();
            } catch (FailsafeException | java.util.concurrent.CancellationException e) {
                if (stopping || Thread.currentThread().isInterrupted() || e.getCause() instanceof InterruptedException) {
                    return;
                }
                LOG.warn("WAL archive of {}: the receiver's supervision ended ({}); starting it again", config.name(), e.toString());
            }
        }
    }

    /** One start of pg_receivewal, to its exit: returns when it ran a while (or the service stops), else throws. */
    private void streamOnce() throws Exception {
        if (!identified) {
            try {
                uploader.identify();
            } catch (Exception e) {
                state = state.failed("cannot identify the cluster: " + e.getMessage(), clock.instant());
                throw new IOException(state.error().message(), e);
            }
            identified = true;
        }
        Process started;
        try {
            createSlot();
            uploader.refreshStatus(); // another node may have archived since this one last did (it stood by, or was away)
            started = tools.processes().start(command(), b -> b.redirectOutput(ProcessBuilder.Redirect.DISCARD));
        } catch (IOException e) {
            state = state.failed(e.getMessage(), clock.instant());
            throw e;
        }
        started.getOutputStream().close();
        process = started;
        if (stopping) {
            started.destroy(); // stop() ran while this one started: it ends with the rest
        }
        StderrTail stderr = new StderrTail(started.getErrorStream(), "pg_receivewal-" + config.name());
        stderr.start();
        ReceiverState before = state;
        state = before.started();
        Instant startedAt = clock.instant();
        if (before.standingBySince() != null && !started.waitFor(TAKEOVER.toMillis(), TimeUnit.MILLISECONDS)) {
            state = state.tookOver(); // it held the slot past the grace: the slot was free
            LOG.info("WAL archive of {}: slot {} was free; this node streams it now", config.name(), config.slot());
        }
        int exit = started.waitFor();
        Instant now = clock.instant();
        boolean shortLived = Duration.between(startedAt, now).compareTo(SHORT_LIVED) < 0;
        Instant downSince = shortLived && before.downSince() != null ? before.downSince() : now; // a flapping receiver stays down
        stderr.join(5_000);
        String text = stderr.text();
        if (stopping) {
            state = state.exited(now, state.error() == null ? null : state.error().message(), now);
            return;
        }
        if (slotHeldElsewhere(text)) {
            if (state.standingBySince() == null) {
                LOG.info("WAL archive of {}: slot {} is streamed by another client (another node?); standing by, retrying every {} s",
                        config.name(), config.slot(), STANDBY_RETRY.toSeconds());
            }
            state = state.standingBy(now);
            throw new SlotHeldElsewhere();
        }
        String why = "pg_receivewal exited with status " + exit + ": " + text;
        state = state.exited(downSince, why, now);
        if (serverLostWal(text)) {
            startOverAtServerPosition(text);
        }
        if (Duration.between(startedAt, now).compareTo(RAN_A_WHILE) > 0) {
            LOG.warn("WAL archive of {}: {}; starting it again", config.name(), why);
            return;
        }
        throw new IOException(why);
    }

    /** Whether pg_receivewal stopped because another client streams the slot ("replication slot ... is active for PID"). */
    static boolean slotHeldElsewhere(String stderr) {
        return stderr.contains("is active for PID");
    }

    /** Whether pg_receivewal stopped because the server no longer has the WAL it must continue from. */
    static boolean serverLostWal(String stderr) {
        return stderr.contains("has already been removed") || stderr.contains("has been invalidated")
                || stderr.contains("was invalidated");
    }

    /**
     * The server removed WAL the archive does not hold (the slot was dropped or invalidated while the
     * receiver was away). Streaming can only go on from where the server is now: store what the
     * spool holds, empty it, recreate an invalidated slot, and let the next start begin at the slot's
     * position. The first segment stored after that records the gap ({@link WalUploader}).
     */
    private void startOverAtServerPosition(String why) {
        Matcher removed = REMOVED.matcher(why);
        String segment = removed.find() ? removed.group(1) : null;
        // Asked for the same removed segment again after the spool was emptied: the slot itself
        // points at it, so only a new slot lets streaming go on.
        boolean slotStale = why.contains("invalidated") || segment != null && segment.equals(startedOverAt);
        startedOverAt = segment;
        try {
            List<String> emptied = uploader.storeAndEmptySpool();
            if (emptied == null) {
                return; // a completed file could not be stored: nothing is thrown away
            }
            if (slotStale) {
                List<String> drop = connection("pg_receivewal");
                drop.addAll(List.of("--slot=" + config.slot(), "--drop-slot"));
                tools.run(drop, 60);
            }
            LOG.error("WAL archive of {}: the server no longer has the WAL after the archive's end ({}; spool held {}{}); streaming "
                    + "starts again from the server's position, the stretch in between is lost and recorded as a gap", config.name(),
                    why.strip(), emptied, slotStale ? ", slot recreated" : "");
        } catch (IOException e) {
            LOG.warn("WAL archive of {}: cannot start over at the server's position yet: {}", config.name(), e.getMessage());
        }
    }

    private void createSlot() throws IOException {
        List<String> command = connection("pg_receivewal");
        command.addAll(List.of("--slot=" + config.slot(), "--create-slot", "--if-not-exists"));
        tools.run(command, 60);
    }

    private List<String> connection(String tool) {
        return new ArrayList<>(List.of(tools.tool(tool), "--host=" + config.host(), "--port=" + config.port(),
                "--username=" + config.user(), "--no-password"));
    }

    List<String> command() {
        List<String> command = connection("pg_receivewal");
        command.addAll(List.of("--directory=" + spool, "--slot=" + config.slot(), "--synchronous", "--no-loop",
                "--status-interval=1"));
        return command;
    }

    /** Stops pg_receivewal (SIGTERM: it flushes what it has, within 30 s) and the supervision with it. */
    void stop() {
        stopping = true;
        Call<Void> running = call;
        Process p = process;
        if (p != null) {
            p.destroy();
            try {
                p.waitFor(30, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            p.destroyForcibly();
        }
        if (running != null) {
            running.cancel(true); // a backoff or standby delay in progress ends now
        }
    }
}
