package dev.backstop.storage.s3;

import dev.backstop.storage.ObjectUpload;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.CompletedPart;
import software.amazon.awssdk.services.s3.model.CreateMultipartUploadRequest;
import software.amazon.awssdk.services.s3.model.PutObjectRequest;
import software.amazon.awssdk.services.s3.model.UploadPartResponse;

/**
 * Streams an object of unknown length to S3. Bytes fill a part buffer; a full buffer is uploaded as a
 * part on a worker while the writer fills the next one. At most {@code concurrency} parts are in
 * flight, so memory stays at most {@code partSize x (concurrency + 1)} whatever the object size.
 * An object smaller than one part is sent with a single PutObject. On any failure, or a close
 * without commit, the multipart upload is aborted (and if even that fails, the sweep retries it).
 */
final class S3MultipartUpload extends ObjectUpload {
    private static final Logger LOG = LoggerFactory.getLogger(S3MultipartUpload.class);

    private final S3Client client;
    private final ExecutorService workers;
    private final Supplier<PutObjectRequest.Builder> putRequest;
    private final Supplier<CreateMultipartUploadRequest.Builder> createRequest;
    private final String bucket;
    private final String key;
    private final int partSize;
    private final Semaphore inFlight;
    private final java.util.function.Consumer<String> abortLater;
    private final dev.backstop.resilience.Guard guard;
    private final List<Future<SentPart>> parts = new ArrayList<>();
    private final SentDigests digests = new SentDigests();

    /** A part as the store acknowledged it, and the digests of what was sent. */
    private record SentPart(CompletedPart completed, SentDigests.Part digests) {}

    private byte[] buffer;
    private int filled;
    private String uploadId;
    private volatile Throwable partFailure;
    private boolean committed;
    private boolean aborted;

    S3MultipartUpload(S3Client client, ExecutorService workers, Supplier<PutObjectRequest.Builder> putRequest,
            Supplier<CreateMultipartUploadRequest.Builder> createRequest, String bucket, String key, int partSize,
            int concurrency, java.util.function.Consumer<String> abortLater, dev.backstop.resilience.Guard guard) {
        this.abortLater = abortLater;
        this.guard = guard;
        this.client = client;
        this.workers = workers;
        this.putRequest = putRequest;
        this.createRequest = createRequest;
        this.bucket = bucket;
        this.key = key;
        this.partSize = partSize;
        this.inFlight = new Semaphore(concurrency);
        this.buffer = new byte[partSize];
    }

    @Override
    public void write(int b) throws IOException {
        write(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public void write(byte[] bytes, int offset, int length) throws IOException {
        ensureWritable();
        while (length > 0) {
            int n = Math.min(length, partSize - filled);
            System.arraycopy(bytes, offset, buffer, filled, n);
            digests.update(bytes, offset, n);
            filled += n;
            offset += n;
            length -= n;
            if (filled == partSize) {
                sendPart();
            }
        }
    }

    private void ensureWritable() throws IOException {
        if (committed || aborted) {
            throw new IOException("upload of s3://" + bucket + "/" + key + " is " + (committed ? "committed" : "aborted"));
        }
        Throwable failure = partFailure;
        if (failure != null) {
            throw new IOException("upload of s3://" + bucket + "/" + key + " failed: " + failure.getMessage(), failure);
        }
    }

    private void sendPart() throws IOException {
        if (uploadId == null) {
            try {
                uploadId = retried("start the upload", () -> client.createMultipartUpload(
                        createRequest.get().bucket(bucket).key(key).build()).uploadId());
            } catch (SdkException e) {
                partFailure = e; // later writes (a flush on close) fail at once instead of trying again
                throw new IOException("cannot start multipart upload of s3://" + bucket + "/" + key + ": " + e.getMessage(), e);
            } catch (IOException e) {
                partFailure = e;
                throw e;
            }
        }
        try {
            inFlight.acquire();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while waiting to upload a part of s3://" + bucket + "/" + key);
        }
        ensureWritable();
        int partNumber = parts.size() + 1;
        byte[] part = buffer;
        int length = filled;
        buffer = new byte[partSize];
        filled = 0;
        String id = uploadId;
        parts.add(workers.submit(() -> {
            try {
                byte[] bytes = length == part.length ? part : java.util.Arrays.copyOf(part, length);
                SentDigests.Part sent = SentDigests.Part.of(partNumber, bytes, length);
                // Content-MD5: the store checks what it received against what was sent.
                UploadPartResponse response = retried("upload part " + partNumber, () -> client.uploadPart(r -> r.bucket(bucket)
                        .key(key).uploadId(id).partNumber(partNumber).contentLength((long) length).contentMD5(sent.contentMd5()),
                        RequestBody.fromBytes(bytes)));
                return new SentPart(CompletedPart.builder().partNumber(partNumber).eTag(response.eTag())
                        .checksumCRC32(response.checksumCRC32()).checksumCRC32C(response.checksumCRC32C())
                        .checksumCRC64NVME(response.checksumCRC64NVME())
                        .checksumSHA1(response.checksumSHA1()).checksumSHA256(response.checksumSHA256()).build(), sent);
            } catch (RuntimeException | IOException e) {
                partFailure = e;
                throw e;
            } finally {
                inFlight.release();
            }
        }));
    }

    /** One S3 call of this upload, through the target's retries and breaker when it has them. */
    private <T> T retried(String what, dev.backstop.resilience.Guard.IoCall<T> call) throws IOException {
        return guard == null ? call.call() : guard.callStreaming(what + " of s3://" + bucket + "/" + key, call);
    }

    @Override
    public void commit() throws IOException {
        ensureWritable();
        try {
            if (uploadId == null) {
                // Smaller than one part: a plain PutObject is one request and leaves no upload to clean.
                int length = filled;
                byte[] bytes = java.util.Arrays.copyOf(buffer, length);
                SentDigests.Part sent = SentDigests.Part.of(1, bytes, length);
                retried("put", () -> client.putObject(putRequest.get().bucket(bucket).key(key).contentLength((long) length)
                        .contentMD5(sent.contentMd5()).build(), RequestBody.fromBytes(bytes)));
                committed = true;
                buffer = null;
                readBack(List.of(sent), false);
            } else {
                if (filled > 0) {
                    sendPart();
                }
                List<SentPart> sent = new ArrayList<>();
                for (Future<SentPart> part : parts) {
                    sent.add(part.get());
                }
                sent.sort(Comparator.comparing(p -> p.completed().partNumber()));
                List<CompletedPart> completed = sent.stream().map(SentPart::completed).toList();
                retried("complete the upload", () -> client.completeMultipartUpload(r -> r.bucket(bucket).key(key)
                        .uploadId(uploadId).multipartUpload(m -> m.parts(completed))));
                committed = true;
                buffer = null;
                readBack(sent.stream().map(SentPart::digests).toList(), true);
            }
        } catch (ExecutionException e) {
            abort();
            Throwable cause = e.getCause();
            throw new IOException("upload of s3://" + bucket + "/" + key + " failed: " + cause.getMessage(), cause);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            abort();
            throw new InterruptedIOException("interrupted while completing s3://" + bucket + "/" + key);
        } catch (SdkException | IOException e) {
            abort();
            throw e instanceof IOException io ? io
                    : new IOException("upload of s3://" + bucket + "/" + key + " failed: " + e.getMessage(), e);
        }
    }

    /**
     * Reads back what the store now holds under the key and compares it with what was sent; on a
     * mismatch the object is deleted, so nothing that differs from its manifest stays published.
     */
    private void readBack(List<SentDigests.Part> sent, boolean multipart) throws IOException {
        S3Target.readBack(client, bucket, key, digests, sent, multipart, this::retried);
    }

    @Override
    public void abort() {
        if (committed || aborted) {
            return;
        }
        aborted = true;
        buffer = null;
        parts.forEach(part -> part.cancel(true));
        if (uploadId != null) {
            try {
                client.abortMultipartUpload(r -> r.bucket(bucket).key(key).uploadId(uploadId));
            } catch (SdkException e) {
                LOG.warn("Cannot abort multipart upload {} of s3://{}/{}: {}; retrying in the background",
                        uploadId, bucket, key, e.getMessage());
                abortLater.accept(uploadId);
            }
        }
    }

    @Override
    public void close() {
        if (!committed) {
            abort();
        }
    }
}
