package dev.backstop.retention;

import static org.assertj.core.api.Assertions.assertThat;

import dev.backstop.model.RetentionPolicy;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/** Properties of {@link Retention#plan} over random histories and policies. */
class RetentionPropertiesTest {
    private static final Instant EPOCH = Instant.parse("2024-01-01T00:00:00Z");
    private static final List<ZoneId> ZONES = List.of(ZoneId.of("UTC"), ZoneId.of("Europe/Berlin"), ZoneId.of("Pacific/Auckland"));

    @Provide
    Arbitrary<List<Retention.Candidate>> histories() {
        Arbitrary<Retention.Candidate> one = Combinators.combine(
                        Arbitraries.longs().between(0, 3L * 365 * 24 * 3600),
                        Arbitraries.integers().between(0, 9))
                .as((seconds, flag) -> {
                    Instant time = EPOCH.plusSeconds(seconds);
                    return new Retention.Candidate(time.toString(), time, flag == 0);
                });
        return one.list().ofMaxSize(60).uniqueElements(Retention.Candidate::id);
    }

    @Provide
    Arbitrary<RetentionPolicy> policies() {
        Arbitrary<Integer> count = Arbitraries.integers().between(0, 6);
        Arbitrary<Duration> within = Arbitraries.longs().between(0, 24 * 400).map(Duration::ofHours);
        return Combinators.combine(count, count, count, count, count, count, within, Arbitraries.integers().between(0, 5))
                .as((last, hourly, daily, weekly, monthly, yearly, keepWithin, minKeep) -> RetentionPolicy.of(last, hourly, daily,
                        weekly, monthly, yearly, keepWithin.isZero() ? null : keepWithin, minKeep));
    }

    @Provide
    Arbitrary<ZoneId> zones() {
        return Arbitraries.of(ZONES);
    }

    @Property(tries = 400)
    void floorsAlwaysHold(@ForAll("histories") List<Retention.Candidate> history, @ForAll("policies") RetentionPolicy policy,
            @ForAll("zones") ZoneId zone) {
        List<Retention.Decision> plan = Retention.plan(history, policy, zone);
        Set<String> kept = keptIds(plan);
        assertThat(kept.size()).as("at least minKeep remain").isGreaterThanOrEqualTo(Math.min(policy.minKeep(), history.size()));
        history.stream().filter(Retention.Candidate::verified).max(java.util.Comparator.comparing(Retention.Candidate::time))
                .ifPresent(newestVerified -> assertThat(kept).contains(newestVerified.id()));
        history.stream().max(java.util.Comparator.comparing(Retention.Candidate::time))
                .ifPresent(newest -> assertThat(kept).as("the newest snapshot is always kept").contains(newest.id()));
    }

    @Property(tries = 400)
    void decidesEverySnapshotOnceAndExplainsEveryKeep(@ForAll("histories") List<Retention.Candidate> history,
            @ForAll("policies") RetentionPolicy policy, @ForAll("zones") ZoneId zone) {
        List<Retention.Decision> plan = Retention.plan(history, policy, zone);
        assertThat(plan).extracting(Retention.Decision::id)
                .containsExactlyInAnyOrderElementsOf(history.stream().map(Retention.Candidate::id).toList());
        assertThat(plan).allSatisfy(d -> assertThat(d.keep()).isEqualTo(!d.reasons().isEmpty()));
    }

    @Property(tries = 400)
    void deletingIsIdempotent(@ForAll("histories") List<Retention.Candidate> history, @ForAll("policies") RetentionPolicy policy,
            @ForAll("zones") ZoneId zone) {
        Set<String> kept = keptIds(Retention.plan(history, policy, zone));
        List<Retention.Candidate> remaining = history.stream().filter(c -> kept.contains(c.id())).toList();
        assertThat(keptIds(Retention.plan(remaining, policy, zone))).as("a second run deletes nothing more").isEqualTo(kept);
    }

    private static Set<String> keptIds(List<Retention.Decision> plan) {
        Set<String> ids = new HashSet<>();
        plan.stream().filter(Retention.Decision::keep).forEach(d -> ids.add(d.id()));
        return ids;
    }
}
