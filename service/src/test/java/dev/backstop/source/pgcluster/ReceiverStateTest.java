package dev.backstop.source.pgcluster;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import org.junit.jupiter.api.Test;

/** The receiver supervisor's published state, through the transitions it makes: no process, no server. */
class ReceiverStateTest {
    private static final Instant T0 = Instant.parse("2026-12-05T10:00:00Z");

    @Test
    void aStartStreamsAnExitIsDownSinceThenAndEachStartIsANewRun() {
        ReceiverState s = ReceiverState.starting(T0);
        assertThat(s.streaming()).isFalse();
        assertThat(s.downSince()).isEqualTo(T0);

        ReceiverState up = s.started();
        assertThat(up.streaming()).isTrue();
        assertThat(up.downSince()).isNull();
        assertThat(up.run()).isEqualTo(1);

        ReceiverState down = up.exited(T0.plusSeconds(60), "pg_receivewal exited with status 1", T0.plusSeconds(60));
        assertThat(down.streaming()).isFalse();
        assertThat(down.downSince()).isEqualTo(T0.plusSeconds(60));
        assertThat(down.error().message()).contains("status 1");
        assertThat(down.started().run()).as("the uploader tells a restarted receiver from the one it sampled").isEqualTo(2);
    }

    @Test
    void aStandbyIsNotStreamingUntilItTookOverAndKeepsItsFirstSince() {
        ReceiverState standby = ReceiverState.starting(T0).standingBy(T0.plusSeconds(1));
        assertThat(standby.standingBySince()).isEqualTo(T0.plusSeconds(1));
        assertThat(standby.downSince()).as("standing by is not an outage").isNull();
        assertThat(standby.error().message()).isNull();
        assertThat(standby.standingBy(T0.plusSeconds(6)).standingBySince()).isEqualTo(T0.plusSeconds(1));

        ReceiverState trying = standby.started();
        assertThat(trying.up()).isTrue();
        assertThat(trying.streaming()).as("running, but the slot may still be held: not streaming yet").isFalse();
        assertThat(trying.tookOver().streaming()).isTrue();
        assertThat(trying.tookOver().standingBySince()).isNull();
    }

    @Test
    void aFailedStartKeepsTheOutageItIsPartOfAndTheNewerErrorIsShown() {
        ReceiverState failed = ReceiverState.starting(T0).failed("connection refused", T0.plusSeconds(5));
        assertThat(failed.downSince()).isEqualTo(T0);
        ReceiverState.Problem upload = new ReceiverState.Problem("upload: storage unavailable", T0.plusSeconds(7));
        assertThat(ReceiverState.Problem.newest(failed.error(), upload)).isEqualTo("upload: storage unavailable");
        assertThat(ReceiverState.Problem.newest(failed.error(), null)).isEqualTo("connection refused");
        assertThat(ReceiverState.Problem.newest(null, null)).isNull();
        ReceiverState cleared = failed.standingBy(T0.plusSeconds(9));
        assertThat(ReceiverState.Problem.newest(cleared.error(), upload)).as("standing by clears the receiver's error").isNull();
    }
}
