package dev.backstop.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.api.Test;

/** A failed copy waits longer with every attempt, and longer still for a target whose quality score is poor. */
class ReplicaBackoffTest {
    @Test
    void doublesPerAttemptScalesWithTheScoreAndIsCapped() {
        assertThat(Replicator.backoff(1, 1.0)).isEqualTo(Duration.ofSeconds(30));
        assertThat(Replicator.backoff(2, 1.0)).isEqualTo(Duration.ofSeconds(60));
        assertThat(Replicator.backoff(3, 1.0)).isEqualTo(Duration.ofSeconds(120));
        assertThat(Replicator.backoff(1, 0.5)).as("half the score, twice the wait").isEqualTo(Duration.ofSeconds(60));
        assertThat(Replicator.backoff(1, 0.0)).as("a dead target is tried again, ten times less often").isEqualTo(Duration.ofSeconds(300));
        assertThat(Replicator.backoff(30, 1.0)).isEqualTo(Duration.ofHours(1));
    }
}
