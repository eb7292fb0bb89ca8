package dev.backstop.source.pgcluster;

import java.util.Locale;
import java.util.regex.Pattern;

/** WAL file names and positions, as PostgreSQL spells them ({@code xlog_internal.h}). */
final class Wal {
    /** A segment: timeline, then the segment number in two 8-digit halves. */
    static final Pattern SEGMENT = Pattern.compile("[0-9A-F]{24}");
    static final Pattern HISTORY = Pattern.compile("[0-9A-F]{8}\\.history");

    private Wal() {}

    /** An LSN {@code 16/B374D848} as a number. */
    static long lsn(String text) {
        int slash = text.indexOf('/');
        if (slash < 0) {
            throw new IllegalArgumentException("not an LSN: " + text);
        }
        return (Long.parseUnsignedLong(text.substring(0, slash), 16) << 32) | Long.parseUnsignedLong(text.substring(slash + 1), 16);
    }

    static String lsn(long value) {
        return String.format(Locale.ROOT, "%X/%X", value >>> 32, value & 0xFFFFFFFFL);
    }

    static long segmentsPerId(long segmentSize) {
        return 0x100000000L / segmentSize;
    }

    /** The name of the segment holding {@code lsn} on {@code timeline}. */
    static String segmentName(int timeline, long lsn, long segmentSize) {
        return name(timeline, lsn / segmentSize, segmentSize);
    }

    static String name(int timeline, long segmentNumber, long segmentSize) {
        long perId = segmentsPerId(segmentSize);
        return String.format(Locale.ROOT, "%08X%08X%08X", timeline, segmentNumber / perId, segmentNumber % perId);
    }

    static int timeline(String segment) {
        return Integer.parseUnsignedInt(segment.substring(0, 8), 16);
    }

    static long segmentNumber(String segment, long segmentSize) {
        return Long.parseUnsignedLong(segment.substring(8, 16), 16) * segmentsPerId(segmentSize)
                + Long.parseUnsignedLong(segment.substring(16, 24), 16);
    }

    static String next(String segment, long segmentSize) {
        return name(timeline(segment), segmentNumber(segment, segmentSize) + 1, segmentSize);
    }

    static String previous(String segment, long segmentSize) {
        return name(timeline(segment), segmentNumber(segment, segmentSize) - 1, segmentSize);
    }

    /** A line of a timeline history file: {@code timeline} ended at {@code end}, where its child began. */
    record Switch(int timeline, long end) {}

    /**
     * The lines of a timeline history file ({@code timeline.c}): "parentTLI switchpoint reason",
     * comments and blank lines skipped, oldest ancestor first.
     */
    static java.util.List<Switch> switches(String history) {
        java.util.List<Switch> switches = new java.util.ArrayList<>();
        for (String line : history.split("\n")) {
            String trimmed = line.strip();
            if (trimmed.isEmpty() || trimmed.startsWith("#")) {
                continue;
            }
            String[] fields = trimmed.split("\\s+", 3);
            if (fields.length < 2) {
                throw new IllegalArgumentException("not a timeline history line: " + line);
            }
            switches.add(new Switch(Integer.parseInt(fields[0]), lsn(fields[1])));
        }
        return switches;
    }

    static String timelineDirectory(int timeline) {
        return String.format(Locale.ROOT, "%08X", timeline);
    }
}
