package dev.backstop.core;

import static org.assertj.core.api.Assertions.assertThat;

import dev.backstop.model.VerifyConfig;
import java.time.Instant;
import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.Test;

/** Where a point-in-time drill restores to: the newest point until what is proven keeps up, then anywhere in the window. */
class DrillPointTest {
    private static final Instant NOW = Instant.parse("2026-12-05T12:00:00Z");
    private static final Instant FROM = NOW.minusSeconds(7 * 86_400);
    private static final Instant UNTIL = NOW.minusSeconds(30);
    /** verify.maxAge 2 days: the newest point is drilled while nothing newer than a day ago is proven. */
    private static final VerifyConfig VERIFY = new VerifyConfig("0 0 4 * * ?", null, null, io.dropwizard.util.Duration.days(2), null);

    private static PointInTimeWindows.Window window(Instant verifiedUntil) {
        return new PointInTimeWindows.Window("main", FROM, UNTIL, verifiedUntil, null, null);
    }

    @Test
    void withNothingProvenTheDrillRestoresTheNewestPoint() {
        assertThat(VerificationService.drillPoint(window(null), VERIFY, NOW)).isEqualTo(UNTIL);
    }

    @Test
    void whenTheProvenPointIsOlderThanHalfTheMaxAgeTheDrillRestoresTheNewestPoint() {
        assertThat(VerificationService.drillPoint(window(NOW.minusSeconds(86_400 + 1)), VERIFY, NOW)).isEqualTo(UNTIL);
    }

    @RepeatedTest(20)
    void whenTheProvenPointIsRecentTheDrillRestoresAPointOfTheWindow() {
        Instant point = VerificationService.drillPoint(window(NOW.minusSeconds(3_600)), VERIFY, NOW);
        assertThat(point).isBetween(FROM, UNTIL);
    }

    @Test
    void aGapIsUnprovenUntilADrillProvesAPointAfterIt() {
        Instant gap = NOW.minusSeconds(7_200);
        assertThat(new PointInTimeWindows.Window("main", FROM, UNTIL, null, null, null).unprovenGap()).isEmpty();
        assertThat(new PointInTimeWindows.Window("main", FROM, UNTIL, null, gap, null).unprovenGap()).get().asString()
                .contains("was lost at " + gap).contains("no drill has proven a point after it").contains("verify.main");
        assertThat(new PointInTimeWindows.Window("main", FROM, UNTIL, gap.minusSeconds(1), gap, null).unprovenGap()).get()
                .asString().contains("the newest proven point is " + gap.minusSeconds(1));
        assertThat(new PointInTimeWindows.Window("main", FROM, UNTIL, gap.plusSeconds(1), gap, null).unprovenGap()).isEmpty();
    }

    @Test
    void aWindowOfOneInstantIsThatInstant() {
        var instant = new PointInTimeWindows.Window("main", UNTIL, UNTIL, NOW.minusSeconds(60), null, null);
        assertThat(VerificationService.drillPoint(instant, VERIFY, NOW)).isEqualTo(UNTIL);
    }
}
