package dev.backstop.pipeline;

import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.util.function.BooleanSupplier;

/**
 * The one cancellation point of a snapshot's byte pipeline: every write the source makes first
 * asks {@code stop} (an operator's cancel, a shutdown past its grace period) and fails once it says
 * so, even while the compressor has nothing to emit yet; after each write {@code written} hears of
 * it (progress). Whatever the encoder still flushes after that goes into an upload that is never
 * committed.
 */
public final class StoppableOutputStream extends FilterOutputStream {
    public static final String STOPPED = "stopped: the snapshot was aborted or cancelled";

    private final BooleanSupplier stop;
    private final Runnable written;

    public StoppableOutputStream(OutputStream out, BooleanSupplier stop, Runnable written) {
        super(out);
        this.stop = stop;
        this.written = written;
    }

    @Override
    public void write(int b) throws IOException {
        check();
        out.write(b);
        written.run();
    }

    @Override
    public void write(byte[] bytes, int offset, int length) throws IOException {
        check();
        out.write(bytes, offset, length);
        written.run();
    }

    private void check() throws IOException {
        if (stop.getAsBoolean()) {
            throw new IOException(STOPPED);
        }
    }
}
