package dev.backstop.health;

import dev.backstop.model.RetentionPolicy;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Date;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TimeZone;
import org.quartz.CronExpression;

/** How the status page writes ages, sizes, instants, schedules and retention rules. */
final class StatusFormat {
    private StatusFormat() {}

    /** "1 pack", "2 packs". */
    static String count(long n, String noun) {
        return n + " " + noun + (n == 1 ? "" : "s");
    }

    static String next(String cron, Instant now, TimeZone zone) {
        if (cron == null) {
            return "not scheduled";
        }
        try {
            CronExpression expression = new CronExpression(cron);
            expression.setTimeZone(zone);
            Date next = expression.getNextValidTimeAfter(Date.from(now));
            return next == null ? "never (" + cron + ")" : "in " + age(now, next.toInstant()) + " (" + cron + ")";
        } catch (java.text.ParseException e) {
            return cron;
        }
    }

    static String retention(RetentionPolicy policy) {
        if (policy == null || !policy.hasRules()) {
            return "everything is kept";
        }
        Map<String, Object> rules = new LinkedHashMap<>();
        rules.put("last", policy.keepLast());
        rules.put("hourly", policy.keepHourly());
        rules.put("daily", policy.keepDaily());
        rules.put("weekly", policy.keepWeekly());
        rules.put("monthly", policy.keepMonthly());
        rules.put("yearly", policy.keepYearly());
        StringBuilder text = new StringBuilder("keep");
        rules.forEach((name, count) -> {
            if (((Integer) count) > 0) {
                text.append(' ').append(name).append(' ').append(count);
            }
        });
        if (policy.keepWithin() != null) {
            text.append(" within ").append(policy.keepWithin());
        }
        if (policy.minKeep() > 0) {
            text.append(", at least ").append(policy.minKeep());
        }
        return text.toString();
    }

    static String age(Instant from, Instant to) {
        if (from == null || to == null) {
            return "?";
        }
        long seconds = Math.max(0, Duration.between(from, to).toSeconds());
        if (seconds < 120) {
            return seconds + " s";
        }
        if (seconds < 7200) {
            return seconds / 60 + " min";
        }
        if (seconds < 172_800) {
            return seconds / 3600 + " h";
        }
        return seconds / 86_400 + " d";
    }

    static String bytes(Long bytes) {
        if (bytes == null) {
            return "-";
        }
        if (bytes < 1024) {
            return bytes + " B";
        }
        String[] units = {"KiB", "MiB", "GiB", "TiB"};
        double value = bytes;
        int unit = -1;
        while (value >= 1024 && unit < units.length - 1) {
            value /= 1024;
            unit++;
        }
        return String.format("%.1f %s", value, units[unit]);
    }

    static String format(Instant at) {
        return at == null ? "" : at.truncatedTo(ChronoUnit.SECONDS).toString();
    }
}
