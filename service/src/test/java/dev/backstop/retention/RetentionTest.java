package dev.backstop.retention;

import static org.assertj.core.api.Assertions.assertThat;

import dev.backstop.model.RetentionPolicy;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Worked examples of restic's {@code forget} rules (buckets of hours, days, ISO weeks, months and
 * years, counted newest first; a calendar rule with count left keeps the oldest snapshot too;
 * keep-within is strictly newer than the newest minus the duration) and of Backstop's two floors.
 */
class RetentionTest {
    private static final ZoneId UTC = ZoneOffset.UTC;

    private static Retention.Candidate at(String time) {
        return new Retention.Candidate(time, Instant.parse(time), false);
    }

    private static List<String> kept(List<Retention.Candidate> snapshots, RetentionPolicy policy) {
        return Retention.plan(snapshots, policy, UTC).stream().filter(Retention.Decision::keep).map(Retention.Decision::id).toList();
    }

    private static RetentionPolicy policy(int last, int hourly, int daily, int weekly, int monthly, int yearly, Duration within,
            int minKeep) {
        return RetentionPolicy.of(last, hourly, daily, weekly, monthly, yearly, within, minKeep);
    }

    private static List<Retention.Candidate> daily(int days) {
        List<Retention.Candidate> list = new ArrayList<>();
        for (int d = 1; d <= days; d++) {
            list.add(at("2026-01-%02dT12:00:00Z".formatted(d)));
        }
        return list;
    }

    /** Around the turn of 2025/2026: ISO week 2026-W01 starts on Monday 2025-12-29. */
    private static final List<Retention.Candidate> NEW_YEAR = List.of(
            at("2025-12-28T10:00:00Z"), at("2025-12-29T10:00:00Z"), at("2026-01-04T10:00:00Z"), at("2026-01-05T10:00:00Z"));

    static Stream<Arguments> examples() {
        return Stream.of(
                Arguments.of("keepDaily 3 of ten days", daily(10), policy(0, 0, 3, 0, 0, 0, null, 0),
                        List.of("2026-01-10T12:00:00Z", "2026-01-09T12:00:00Z", "2026-01-08T12:00:00Z")),
                Arguments.of("keepDaily 20 of ten days keeps all", daily(10), policy(0, 0, 20, 0, 0, 0, null, 0),
                        daily(10).stream().map(Retention.Candidate::id).sorted(java.util.Comparator.reverseOrder()).toList()),
                Arguments.of("keepDaily keeps the last of each day", List.of(at("2026-01-01T08:00:00Z"), at("2026-01-01T20:00:00Z"),
                        at("2026-01-02T08:00:00Z"), at("2026-01-02T20:00:00Z"), at("2026-01-03T08:00:00Z"), at("2026-01-03T20:00:00Z")),
                        policy(0, 0, 2, 0, 0, 0, null, 0), List.of("2026-01-03T20:00:00Z", "2026-01-02T20:00:00Z")),
                Arguments.of("keepWeekly 2 uses ISO weeks", NEW_YEAR, policy(0, 0, 0, 2, 0, 0, null, 0),
                        List.of("2026-01-05T10:00:00Z", "2026-01-04T10:00:00Z")),
                Arguments.of("keepWeekly 3 reaches 2025-W52", NEW_YEAR, policy(0, 0, 0, 3, 0, 0, null, 0),
                        List.of("2026-01-05T10:00:00Z", "2026-01-04T10:00:00Z", "2025-12-28T10:00:00Z")),
                Arguments.of("keepMonthly 1", NEW_YEAR, policy(0, 0, 0, 0, 1, 0, null, 0), List.of("2026-01-05T10:00:00Z")),
                Arguments.of("keepYearly 2: newest of each year", NEW_YEAR, policy(0, 0, 0, 0, 0, 2, null, 0),
                        List.of("2026-01-05T10:00:00Z", "2025-12-29T10:00:00Z")),
                Arguments.of("keepYearly 3 with count left keeps the oldest too", NEW_YEAR, policy(0, 0, 0, 0, 0, 3, null, 0),
                        List.of("2026-01-05T10:00:00Z", "2025-12-29T10:00:00Z", "2025-12-28T10:00:00Z")),
                Arguments.of("keepLast 1 and keepHourly 2", List.of(at("2026-01-01T10:05:00Z"), at("2026-01-01T10:35:00Z"),
                        at("2026-01-01T11:05:00Z"), at("2026-01-01T11:35:00Z")), policy(1, 2, 0, 0, 0, 0, null, 0),
                        List.of("2026-01-01T11:35:00Z", "2026-01-01T10:35:00Z")),
                Arguments.of("keepWithin 2d is strictly newer than newest minus 2d", daily(10),
                        policy(0, 0, 0, 0, 0, 0, Duration.ofDays(2), 0), List.of("2026-01-10T12:00:00Z", "2026-01-09T12:00:00Z")),
                Arguments.of("keepLast 3", daily(5), policy(3, 0, 0, 0, 0, 0, null, 0),
                        List.of("2026-01-05T12:00:00Z", "2026-01-04T12:00:00Z", "2026-01-03T12:00:00Z")),
                Arguments.of("minKeep 3 above keepLast 1", daily(5), policy(1, 0, 0, 0, 0, 0, null, 3),
                        List.of("2026-01-05T12:00:00Z", "2026-01-04T12:00:00Z", "2026-01-03T12:00:00Z")),
                Arguments.of("no rule keeps everything", daily(3), policy(0, 0, 0, 0, 0, 0, null, 0),
                        List.of("2026-01-03T12:00:00Z", "2026-01-02T12:00:00Z", "2026-01-01T12:00:00Z")));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("examples")
    void keepsWhatResticWould(String name, List<Retention.Candidate> snapshots, RetentionPolicy policy, List<String> expected) {
        assertThat(kept(snapshots, policy)).containsExactlyElementsOf(expected);
    }

    @Test
    void bucketsAreCutInTheConfiguredZone() {
        // New York is UTC-4 on these dates: the last three snapshots fall on 03-10 there, the first on 03-09.
        List<Retention.Candidate> snapshots = List.of(at("2026-03-10T01:00:00Z"), at("2026-03-10T12:00:00Z"),
                at("2026-03-10T23:30:00Z"), at("2026-03-11T00:30:00Z"));
        RetentionPolicy daily2 = policy(0, 0, 2, 0, 0, 0, null, 0);
        assertThat(Retention.plan(snapshots, daily2, UTC).stream().filter(Retention.Decision::keep))
                .extracting(Retention.Decision::id).containsExactly("2026-03-11T00:30:00Z", "2026-03-10T23:30:00Z");
        assertThat(Retention.plan(snapshots, daily2, ZoneId.of("America/New_York")).stream().filter(Retention.Decision::keep))
                .extracting(Retention.Decision::id).containsExactly("2026-03-11T00:30:00Z", "2026-03-10T01:00:00Z");
    }

    @Test
    void newestVerifiedSnapshotIsNeverDeletedAndEveryKeepSaysWhy() {
        List<Retention.Candidate> snapshots = new ArrayList<>(daily(5));
        snapshots.set(1, new Retention.Candidate("2026-01-02T12:00:00Z", Instant.parse("2026-01-02T12:00:00Z"), true));
        snapshots.set(0, new Retention.Candidate("2026-01-01T12:00:00Z", Instant.parse("2026-01-01T12:00:00Z"), true));
        List<Retention.Decision> plan = Retention.plan(snapshots, policy(1, 0, 0, 0, 0, 0, null, 1), UTC);
        assertThat(plan).filteredOn(Retention.Decision::keep).extracting(Retention.Decision::id)
                .containsExactly("2026-01-05T12:00:00Z", "2026-01-02T12:00:00Z");
        assertThat(plan.get(0).reasons()).containsExactly("keepLast");
        assertThat(plan.stream().filter(d -> d.id().equals("2026-01-02T12:00:00Z")).findFirst().orElseThrow().reasons())
                .containsExactly("floor: newest snapshot that passed verification");
        assertThat(plan).filteredOn(d -> !d.keep()).allSatisfy(d -> assertThat(d.reasons()).isEmpty());
    }

    @Test
    void aSnapshotWhoseVerificationIsUnknownKeepsTheFloorUntilANewerOneIsProven() {
        RetentionPolicy keepLastOne = new RetentionPolicy(1, 0, 0, 0, 0, 0, null, 0, null, null, null);
        Instant t1 = Instant.parse("2026-03-01T00:00:00Z");
        Instant t2 = Instant.parse("2026-03-02T00:00:00Z");
        Instant t3 = Instant.parse("2026-03-03T00:00:00Z");
        // After a catalog rebuild without drill records: the older snapshots may have passed drills.
        List<Retention.Decision> unknown = Retention.plan(List.of(new Retention.Candidate("a", t1, false, true),
                new Retention.Candidate("b", t2, false, true), new Retention.Candidate("c", t3, false, false)), keepLastOne,
                java.time.ZoneOffset.UTC);
        assertThat(unknown.stream().filter(Retention.Decision::keep).map(Retention.Decision::id)).containsExactly("c", "b");
        // Once a newer snapshot is known verified, the unknown ones are no longer a floor.
        List<Retention.Decision> proven = Retention.plan(List.of(new Retention.Candidate("a", t1, false, true),
                new Retention.Candidate("b", t2, false, true), new Retention.Candidate("c", t3, true, false)), keepLastOne,
                java.time.ZoneOffset.UTC);
        assertThat(proven.stream().filter(Retention.Decision::keep).map(Retention.Decision::id)).containsExactly("c");
    }
}
