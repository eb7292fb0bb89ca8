package dev.backstop.source;

import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.function.ToIntFunction;

/**
 * Passes a tar stream on unchanged while reading its headers, so that each regular file's content
 * starts and ends its own chunks ({@link FileChunks}), cut at the alignment {@code alignment}
 * gives its name and size (a base backup's relation files: 8 KiB pages); files under
 * {@link #FRAMED} bytes stay in the stream's content-defined chunks. Handles ustar, pax
 * ({@code x}, {@code g}) and GNU long-name ({@code L}, {@code K}) entries, whose data are headers
 * of the next entry, not file content. Files are never reused here: every byte is read.
 */
public final class TarFiles extends FilterOutputStream {
    private static final int RECORD = 512;
    /** Files from this size on get chunks of their own; smaller ones stay in the stream's content-defined chunks. */
    static final long FRAMED = 256 << 10;

    private final FileChunks files;
    private final ToIntFunction<String> alignment;
    private final byte[] header = new byte[RECORD];
    private int headerFilled;
    /** Bytes of the current entry's data (with padding) still to pass, and whether they are a file's content. */
    private long dataLeft;
    private boolean inFile;
    private String fileName;

    public TarFiles(OutputStream out, FileChunks files, ToIntFunction<String> alignment) {
        super(out);
        this.files = files;
        this.alignment = alignment;
    }

    @Override
    public void write(int b) throws IOException {
        write(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public void write(byte[] bytes, int offset, int length) throws IOException {
        while (length > 0) {
            if (dataLeft > 0) {
                int n = (int) Math.min(dataLeft, length);
                out.write(bytes, offset, n);
                offset += n;
                length -= n;
                dataLeft -= n;
                if (dataLeft == 0 && inFile) {
                    files.endFile(fileName, new FileChunks.Identity(-1, 0, 0, 0));
                    inFile = false;
                }
                continue;
            }
            int n = Math.min(RECORD - headerFilled, length);
            System.arraycopy(bytes, offset, header, headerFilled, n);
            out.write(bytes, offset, n);
            headerFilled += n;
            offset += n;
            length -= n;
            if (headerFilled == RECORD) {
                headerFilled = 0;
                onHeader();
            }
        }
    }

    private void onHeader() throws IOException {
        if (isZero(header)) {
            return; // end-of-archive records
        }
        long size = size(header);
        char type = (char) header[156];
        dataLeft = (size + RECORD - 1) / RECORD * RECORD;
        if (size >= FRAMED && (type == '0' || type == '\0' || type == '7')) {
            fileName = name(header);
            files.startFile(alignment.applyAsInt(fileName + "\0" + size));
            inFile = true;
        }
    }

    private static boolean isZero(byte[] record) {
        for (byte b : record) {
            if (b != 0) {
                return false;
            }
        }
        return true;
    }

    /** The size field: octal, or base-256 when its first byte has the high bit set. */
    static long size(byte[] header) {
        if ((header[124] & 0x80) != 0) {
            long size = 0;
            for (int i = 125; i < 136; i++) {
                size = (size << 8) | (header[i] & 0xff);
            }
            return size;
        }
        long size = 0;
        for (int i = 124; i < 136; i++) {
            byte b = header[i];
            if (b >= '0' && b <= '7') {
                size = size * 8 + (b - '0');
            } else if (b != ' ' && b != 0) {
                break;
            } else if (size > 0) {
                break;
            }
        }
        return size;
    }

    private static String name(byte[] header) {
        int end = 0;
        while (end < 100 && header[end] != 0) {
            end++;
        }
        String name = new String(header, 0, end, StandardCharsets.UTF_8);
        int prefixEnd = 345;
        while (prefixEnd < 500 && header[prefixEnd] != 0) {
            prefixEnd++;
        }
        return prefixEnd > 345 ? new String(header, 345, prefixEnd - 345, StandardCharsets.UTF_8) + "/" + name : name;
    }

    @Override
    public void close() throws IOException {
        flush();
    }
}
