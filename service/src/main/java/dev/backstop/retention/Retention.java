package dev.backstop.retention;

import dev.backstop.model.RetentionPolicy;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZonedDateTime;
import java.time.temporal.IsoFields;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * Decides which snapshots a policy keeps: a pure function of the snapshots, the policy and the time
 * zone the calendar buckets are cut in. It follows restic's {@code forget} algorithm: walking from the
 * newest snapshot to the oldest, each bucket rule keeps a snapshot when it starts a bucket (hour, day,
 * ISO week, month, year) not seen by that rule yet, until the rule has kept its count; a calendar
 * rule with count left also keeps the oldest snapshot.
 */
public final class Retention {

    /**
     * What retention needs to know about a snapshot. {@code verificationUnknown}: the catalog was
     * rebuilt and storage held no drill record for it, so it may have passed one.
     */
    public record Candidate(String id, Instant time, boolean verified, boolean verificationUnknown) {
        public Candidate(String id, Instant time, boolean verified) {
            this(id, time, verified, false);
        }
    }

    /** The decision for one snapshot, with every reason that keeps it (none: it is deleted). */
    public record Decision(String id, Instant time, boolean keep, List<String> reasons) {}

    private Retention() {
    }

    /** Decisions for every candidate, newest first. */
    public static List<Decision> plan(List<Candidate> snapshots, RetentionPolicy policy, ZoneId zone) {
        List<Candidate> newestFirst = new ArrayList<>(snapshots);
        newestFirst.sort(Comparator.comparing(Candidate::time).thenComparing(Candidate::id).reversed());
        Map<String, List<String>> reasons = new LinkedHashMap<>();
        newestFirst.forEach(c -> reasons.put(c.id(), new ArrayList<>()));
        if (!policy.hasRules()) {
            newestFirst.forEach(c -> reasons.get(c.id()).add("no retention rule: everything is kept"));
            return decisions(newestFirst, reasons);
        }
        List<Rule> rules = List.of(
                new Rule("keepLast", policy.keepLast(), c -> c.id()),
                new Rule("keepHourly", policy.keepHourly(), c -> bucket(c, zone, "yyyy-MM-dd'T'HH")),
                new Rule("keepDaily", policy.keepDaily(), c -> bucket(c, zone, "yyyy-MM-dd")),
                new Rule("keepWeekly", policy.keepWeekly(), c -> isoWeek(c, zone)),
                new Rule("keepMonthly", policy.keepMonthly(), c -> bucket(c, zone, "yyyy-MM")),
                new Rule("keepYearly", policy.keepYearly(), c -> bucket(c, zone, "yyyy")));
        Instant newest = newestFirst.isEmpty() ? null : newestFirst.get(0).time();
        for (int i = 0; i < newestFirst.size(); i++) {
            Candidate c = newestFirst.get(i);
            boolean oldest = i == newestFirst.size() - 1;
            for (Rule rule : rules) {
                rule.offer(c, oldest, reasons.get(c.id()));
            }
            if (policy.keepWithin() != null && policy.keepWithin().toMilliseconds() > 0
                    && c.time().isAfter(newest.minusMillis(policy.keepWithin().toMilliseconds()))) {
                // restic keeps what is strictly newer than (newest - duration); the newest itself always
                reasons.get(c.id()).add("keepWithin " + policy.keepWithin() + " of the newest snapshot");
            }
        }
        // Floors: the newest verified snapshot, then the newest ones until minKeep remain.
        Candidate newestVerified = newestFirst.stream().filter(Candidate::verified).findFirst().orElse(null);
        if (newestVerified != null) {
            reasons.get(newestVerified.id()).add("floor: newest snapshot that passed verification");
        }
        // Unknown counts as unverified, but is never why the floor is lost: a snapshot newer than the
        // newest known-verified one whose drill record was lost might be the real floor.
        newestFirst.stream().filter(Candidate::verificationUnknown)
                .filter(c -> newestVerified == null || c.time().isAfter(newestVerified.time())).findFirst()
                .ifPresent(c -> reasons.get(c.id()).add("floor: verification state unknown (catalog rebuilt), may be the newest verified"));
        long kept = reasons.values().stream().filter(r -> !r.isEmpty()).count();
        for (Candidate c : newestFirst) {
            if (kept >= policy.minKeep()) {
                break;
            }
            if (reasons.get(c.id()).isEmpty()) {
                reasons.get(c.id()).add("floor: minKeep " + policy.minKeep());
                kept++;
            }
        }
        return decisions(newestFirst, reasons);
    }

    private static List<Decision> decisions(List<Candidate> newestFirst, Map<String, List<String>> reasons) {
        return newestFirst.stream()
                .map(c -> new Decision(c.id(), c.time(), !reasons.get(c.id()).isEmpty(), List.copyOf(reasons.get(c.id()))))
                .toList();
    }

    private static String bucket(Candidate c, ZoneId zone, String pattern) {
        return java.time.format.DateTimeFormatter.ofPattern(pattern).format(c.time().atZone(zone));
    }

    private static String isoWeek(Candidate c, ZoneId zone) {
        ZonedDateTime t = c.time().atZone(zone);
        return t.get(IsoFields.WEEK_BASED_YEAR) + "-W" + t.get(IsoFields.WEEK_OF_WEEK_BASED_YEAR);
    }

    /** One bucket rule: keeps the first (newest) snapshot of each new bucket until its count is used up. */
    private static final class Rule {
        private final String name;
        private int remaining;
        private final Function<Candidate, String> bucketOf;
        private String lastBucket;

        Rule(String name, int count, Function<Candidate, String> bucketOf) {
            this.name = name;
            this.remaining = count;
            this.bucketOf = bucketOf;
        }

        /**
         * Like restic, a calendar rule that still has count left when it reaches the oldest snapshot
         * keeps that one too, so the history kept is as long as the counts allow.
         */
        void offer(Candidate c, boolean oldest, List<String> reasons) {
            if (remaining <= 0) {
                return;
            }
            String bucket = bucketOf.apply(c);
            if (!bucket.equals(lastBucket) || (oldest && !name.equals("keepLast"))) {
                lastBucket = bucket;
                remaining--;
                reasons.add(name.equals("keepLast") ? "keepLast" : name + " " + bucket);
            }
        }
    }
}
