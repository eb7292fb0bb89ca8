package dev.backstop.source;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;

/** Keeps the last few KB of a child process's stderr so a failure can say why, without unbounded memory. */
public final class StderrTail extends Thread {
    private static final int STDERR_KEEP = 8 * 1024;

    private final InputStream in;
    private final ByteArrayOutputStream kept = new ByteArrayOutputStream();

    public StderrTail(InputStream in, String threadName) {
        super(threadName);
        setDaemon(true);
        this.in = in;
    }

    @Override
    public void run() {
        byte[] buffer = new byte[4096];
        try (in) {
            int n;
            while ((n = in.read(buffer)) >= 0) {
                synchronized (kept) {
                    kept.write(buffer, 0, n);
                    if (kept.size() > 2 * STDERR_KEEP) {
                        byte[] all = kept.toByteArray();
                        kept.reset();
                        kept.write(all, all.length - STDERR_KEEP, STDERR_KEEP);
                    }
                }
            }
        } catch (IOException ignored) {
            // process ended
        }
    }

    public String text() {
        synchronized (kept) {
            String text = kept.toString(StandardCharsets.UTF_8).trim();
            if (text.length() > STDERR_KEEP) {
                text = text.substring(text.length() - STDERR_KEEP);
            }
            return text.isEmpty() ? "(no message)" : text.replace('\n', ' ');
        }
    }
}
