package dev.backstop.source.pgcluster;

import java.time.Instant;

/**
 * What the receiver supervisor ({@link WalReceiver}) publishes, one immutable value at a time.
 *
 * @param run             how many times pg_receivewal has been started (a new run is a new process)
 * @param up              pg_receivewal runs
 * @param standingBySince since when another client streams the slot (null: this node does, or is down)
 * @param downSince       since when the receiver is not streaming (null: it is, or it stands by)
 * @param error           the receiver's last error (a null message once it stands by), null before any
 */
record ReceiverState(int run, boolean up, Instant standingBySince, Instant downSince, Problem error) {

    /** A message and when it was set: of the supervisor's and the uploader's, the newer one is shown. */
    record Problem(String message, Instant at) {
        static String newest(Problem a, Problem b) {
            Problem newer = a == null ? b : b == null || !b.at().isAfter(a.at()) ? a : b;
            return newer == null ? null : newer.message();
        }
    }

    /** Before the first start: down since the archiver started. */
    static ReceiverState starting(Instant now) {
        return new ReceiverState(0, false, null, now, null);
    }

    /** pg_receivewal streams the slot: it runs, and (on a node that stood by) it holds the slot past the takeover grace. */
    boolean streaming() {
        return up && standingBySince == null;
    }

    ReceiverState started() {
        return new ReceiverState(run + 1, true, standingBySince, null, error);
    }

    ReceiverState tookOver() {
        return new ReceiverState(run, up, null, downSince, error);
    }

    ReceiverState standingBy(Instant now) {
        return new ReceiverState(run, false, standingBySince != null ? standingBySince : now, null, new Problem(null, now));
    }

    ReceiverState exited(Instant downSince, String why, Instant now) {
        return new ReceiverState(run, false, null, downSince, new Problem(why, now));
    }

    /** A start that failed before the receiver ran (the slot could not be made, the server cannot be reached). */
    ReceiverState failed(String why, Instant now) {
        return new ReceiverState(run, false, standingBySince, downSince != null ? downSince : now, new Problem(why, now));
    }
}
