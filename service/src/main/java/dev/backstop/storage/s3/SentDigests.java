package dev.backstop.storage.s3;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.CRC32;
import java.util.zip.CRC32C;
import java.util.zip.Checksum;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.services.s3.model.HeadObjectResponse;

/**
 * What was sent for one object, so that the stored object can be compared with it: the length,
 * CRC32 and CRC32C of the whole object, and MD5, CRC32 and CRC32C of each part (one part for a
 * plain PutObject). The comparison covers the stored length, the ETag where it is an MD5 (single
 * or multipart form), and the CRC32/CRC32C checksums the store returns (full-object or composite).
 */
final class SentDigests {
    private static final Logger LOG = LoggerFactory.getLogger(SentDigests.class);
    private static final Pattern MD5_ETAG = Pattern.compile("\"?([0-9a-fA-F]{32})(?:-(\\d+))?\"?");

    /** Digests of one part, computed on the thread that sends it. */
    record Part(int number, long length, byte[] md5, byte[] crc32, byte[] crc32c) {
        static Part of(int number, byte[] bytes, int length) {
            return new Part(number, length, SentDigests.md5(bytes, length), SentDigests.checksum(new CRC32(), bytes, length),
                    SentDigests.checksum(new CRC32C(), bytes, length));
        }

        String contentMd5() {
            return Base64.getEncoder().encodeToString(md5);
        }
    }

    private final CRC32 crc32 = new CRC32();
    private final CRC32C crc32c = new CRC32C();
    private long length;

    /** Called with every byte of the object, in order. */
    void update(byte[] bytes, int offset, int count) {
        crc32.update(bytes, offset, count);
        crc32c.update(bytes, offset, count);
        length += count;
    }

    long length() {
        return length;
    }

    /**
     * Throws when the stored object is not what was sent; the message names what the store did.
     * {@code parts} are in part order; one part for an object sent with a single PutObject.
     */
    void verify(String where, HeadObjectResponse head, List<Part> parts, boolean multipart) throws IOException {
        List<String> problems = new ArrayList<>();
        Long stored = head.contentLength();
        if (stored == null || stored != length) {
            problems.add("the store holds " + stored + " bytes, " + length + " were sent" + (stored != null && stored > length
                    ? " (it may keep the upload's aws-chunked framing as data: such stores need no chunked encoding, "
                            + "which Backstop does not send, or a proxy in between rewrote the body)" : ""));
        }
        String etag = head.eTag();
        Matcher md5 = etag == null ? null : MD5_ETAG.matcher(etag);
        // A multipart object's ETag in S3's form is the MD5 of the parts' MD5s; some stores give
        // the whole object's MD5 instead, which is not computed here, so that form is not compared.
        if (md5 != null && md5.matches() && multipart == (md5.group(2) != null)) {
            String expected = multipart ? multipartEtag(parts) : HexFormat.of().formatHex(parts.get(0).md5());
            String actual = md5.group(1).toLowerCase(Locale.ROOT) + (md5.group(2) == null ? "" : "-" + md5.group(2));
            if (!actual.equals(expected)) {
                problems.add("the store's ETag " + etag + " is not the MD5 of the bytes sent (" + expected + ")");
            }
        }
        compare("CRC32", head.checksumCRC32(), crc32, parts.stream().map(Part::crc32).toList(), problems);
        compare("CRC32C", head.checksumCRC32C(), crc32c, parts.stream().map(Part::crc32c).toList(), problems);
        if (head.checksumSHA256() != null || head.checksumSHA1() != null || head.checksumCRC64NVME() != null) {
            LOG.debug("{}: the store also returned SHA/CRC64NVME checksums, which Backstop does not compute", where);
        }
        if (!problems.isEmpty()) {
            throw new IOException("read-back of " + where + " failed: " + String.join("; ", problems));
        }
    }

    private void compare(String name, String returned, Checksum whole, List<byte[]> partSums, List<String> problems) {
        if (returned == null) {
            return;
        }
        String full = Base64.getEncoder().encodeToString(ByteBuffer.allocate(4).putInt((int) whole.getValue()).array());
        String composite = composite(name, partSums);
        if (!returned.equals(full) && !returned.equals(composite) && !(partSums.size() == 1
                && returned.equals(Base64.getEncoder().encodeToString(partSums.get(0))))) {
            problems.add("the store's " + name + " " + returned + " is not that of the bytes sent (" + full + ")");
        }
    }

    /** S3's composite form: the checksum of the parts' checksums, then "-" and the part count. */
    private static String composite(String name, List<byte[]> partSums) {
        Checksum sum = name.equals("CRC32") ? new CRC32() : new CRC32C();
        for (byte[] part : partSums) {
            sum.update(part, 0, part.length);
        }
        return Base64.getEncoder().encodeToString(ByteBuffer.allocate(4).putInt((int) sum.getValue()).array()) + "-"
                + partSums.size();
    }

    /** S3's multipart ETag: MD5 of the parts' MD5s, then "-" and the part count. */
    static String multipartEtag(List<Part> parts) {
        MessageDigest digest = newMd5();
        parts.forEach(part -> digest.update(part.md5()));
        return HexFormat.of().formatHex(digest.digest()) + "-" + parts.size();
    }

    private static byte[] md5(byte[] bytes, int length) {
        MessageDigest digest = newMd5();
        digest.update(bytes, 0, length);
        return digest.digest();
    }

    private static byte[] checksum(Checksum sum, byte[] bytes, int length) {
        sum.update(bytes, 0, length);
        return ByteBuffer.allocate(4).putInt((int) sum.getValue()).array();
    }

    private static MessageDigest newMd5() {
        try {
            return MessageDigest.getInstance("MD5");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("this JVM has no MD5", e);
        }
    }
}
