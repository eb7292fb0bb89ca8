package dev.backstop.model;

import java.security.SecureRandom;
import java.time.Clock;
import java.time.Instant;
import java.util.Random;

/**
 * Identifiers that sort by creation time as plain strings: 48 bits of epoch milliseconds followed by
 * 80 random bits, in Crockford base32 (26 characters, the ULID layout). Ids created within the same
 * millisecond by one generator keep increasing, so catalog listings and storage keys sort the same way.
 */
public final class TimeOrderedId {
    private static final char[] ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ".toCharArray();
    public static final int LENGTH = 26;
    private static final String PATTERN = "[0-9A-HJKMNP-TV-Z]{26}";

    private final Clock clock;
    private final Random random;
    private long lastMillis = -1;
    private long lastHigh;
    private long lastLow;

    public TimeOrderedId(Clock clock) {
        this(clock, new SecureRandom());
    }

    TimeOrderedId(Clock clock, Random random) {
        this.clock = clock;
        this.random = random;
    }

    /** The next id; strictly greater than every id this generator returned before. */
    public synchronized String next() {
        long millis = clock.millis();
        if (millis <= lastMillis) {
            // Same (or a backwards-stepping) clock: increment the random part instead of going back.
            millis = lastMillis;
            lastLow++;
            if (lastLow == 0) {
                lastHigh = (lastHigh + 1) & 0xFFFFL;
            }
        } else {
            lastMillis = millis;
            lastHigh = random.nextInt(1 << 16);
            lastLow = random.nextLong();
        }
        return encode(millis, lastHigh, lastLow);
    }

    /** Whether the text is a well-formed id (case-sensitive, as this class writes them). */
    public static boolean isValid(String text) {
        return text != null && text.matches(PATTERN);
    }

    /** The creation time encoded in an id. */
    public static Instant timestampOf(String id) {
        if (!isValid(id)) {
            throw new IllegalArgumentException("not a time-ordered id: " + id);
        }
        long millis = 0;
        for (int i = 0; i < 10; i++) {
            millis = (millis << 5) | indexOf(id.charAt(i));
        }
        return Instant.ofEpochMilli(millis);
    }

    private static String encode(long millis, long high16, long low64) {
        char[] out = new char[LENGTH];
        // 128 bits = 48 time + 16 high random + 64 low random, written 5 bits at a time from the right.
        long lo = low64;
        long hi = (millis << 16) | high16; // 64 bits
        for (int i = LENGTH - 1; i >= 0; i--) {
            out[i] = ALPHABET[(int) (lo & 31)];
            lo = (lo >>> 5) | (hi << 59);
            hi = hi >>> 5;
        }
        return new String(out);
    }

    private static int indexOf(char c) {
        for (int i = 0; i < ALPHABET.length; i++) {
            if (ALPHABET[i] == c) {
                return i;
            }
        }
        throw new IllegalArgumentException("not a base32 character: " + c);
    }
}
