package dev.backstop.model;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class TimeOrderedIdTest {

    @Test
    void encodesTheCreationTimeAndSortsByIt() {
        Instant t = Instant.parse("2026-11-28T01:02:03.456Z");
        String early = new TimeOrderedId(Clock.fixed(t, ZoneOffset.UTC), new Random(1)).next();
        String late = new TimeOrderedId(Clock.fixed(t.plusMillis(1), ZoneOffset.UTC), new Random(2)).next();
        assertThat(early).hasSize(26).matches(TimeOrderedId::isValid);
        assertThat(TimeOrderedId.timestampOf(early)).isEqualTo(t);
        assertThat(early).isLessThan(late);
    }

    @Test
    void idsFromOneGeneratorStrictlyIncreaseEvenWithinAMillisecondOrWhenTheClockStepsBack() {
        Instant t = Instant.parse("2026-11-28T00:00:00Z");
        MutableClock clock = new MutableClock(t);
        TimeOrderedId ids = new TimeOrderedId(clock, new Random(7));
        List<String> made = new ArrayList<>();
        for (int i = 0; i < 1000; i++) {
            made.add(ids.next());
            if (i == 500) {
                clock.now = t.minusSeconds(10); // NTP step backwards
            }
        }
        assertThat(made).isSorted().doesNotHaveDuplicates();
    }

    @Test
    void rejectsMalformedIds() {
        assertThat(TimeOrderedId.isValid("../../etc/passwd")).isFalse();
        assertThat(TimeOrderedId.isValid("01ARZ3NDEKTSV4RRFFQ69G5FAV")).isTrue();
        assertThat(TimeOrderedId.isValid("01ARZ3NDEKTSV4RRFFQ69G5FAI")).as("I is not in Crockford base32").isFalse();
        assertThat(TimeOrderedId.isValid(null)).isFalse();
    }

    private static final class MutableClock extends Clock {
        Instant now;

        MutableClock(Instant now) {
            this.now = now;
        }

        @Override
        public java.time.ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(java.time.ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return now;
        }
    }
}
