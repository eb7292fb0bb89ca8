package dev.backstop.storage.s3;

import dev.backstop.storage.ObjectUpload;
import dev.backstop.storage.StorageTarget;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.NoSuchFileException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.checksums.ResponseChecksumValidation;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.http.apache.ApacheHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.S3Configuration;
import software.amazon.awssdk.services.s3.model.ChecksumMode;
import software.amazon.awssdk.services.s3.model.CreateMultipartUploadRequest;
import software.amazon.awssdk.services.s3.model.HeadObjectResponse;
import software.amazon.awssdk.services.s3.model.MultipartUpload;
import software.amazon.awssdk.services.s3.model.NoSuchKeyException;
import software.amazon.awssdk.services.s3.model.PutObjectRequest;
import software.amazon.awssdk.services.s3.model.S3Exception;
import software.amazon.awssdk.services.s3.model.S3Object;

/** An S3 bucket (and prefix) reached through the AWS SDK v2. */
public final class S3Target implements StorageTarget {
    private static final Logger LOG = LoggerFactory.getLogger(S3Target.class);

    private final S3TargetFactory config;
    private final S3Client client;
    private final ExecutorService partUploader;
    /** Multipart uploads whose abort failed (the store was unreachable): key by upload id. */
    private final Map<String, String> pendingAborts = new ConcurrentHashMap<>();
    private final ScheduledExecutorService abortRetrier;

    /** Retries for the calls of an upload (create, parts, complete); null: the SDK's own retries only. */
    private final dev.backstop.resilience.Guard guard;

    S3Target(S3TargetFactory config, dev.backstop.resilience.Guard guard, dev.backstop.resilience.ThreadPools threads) {
        this.config = config;
        this.guard = guard;
        this.client = S3Client.builder()
                .region(Region.of(config.region()))
                .endpointOverride(config.endpoint())
                .forcePathStyle(Boolean.TRUE.equals(config.pathStyleAccess()))
                // Bodies go out with a known length and a signed payload hash, never in aws-chunked
                // framing: stores that do not decode it would keep the framing as the object.
                .serviceConfiguration(S3Configuration.builder().chunkedEncodingEnabled(false).build())
                .credentialsProvider(credentials(config))
                .requestChecksumCalculation(config.checksumMode() == S3TargetFactory.ChecksumMode.WHEN_REQUIRED
                        ? RequestChecksumCalculation.WHEN_REQUIRED : RequestChecksumCalculation.WHEN_SUPPORTED)
                .responseChecksumValidation(config.checksumMode() == S3TargetFactory.ChecksumMode.WHEN_REQUIRED
                        ? ResponseChecksumValidation.WHEN_REQUIRED : ResponseChecksumValidation.WHEN_SUPPORTED)
                .httpClientBuilder(ApacheHttpClient.builder()
                        .maxConnections(config.concurrency() * 2 + 4)
                        .connectionTimeout(java.time.Duration.ofSeconds(10)))
                .overrideConfiguration(o -> o.apiCallTimeout(java.time.Duration.ofMillis(config.apiCallTimeout().toMilliseconds())))
                .build();
        // Idle part threads go after 5 s, so the thread count returns to its baseline soon after a burst.
        this.partUploader = threads.elastic("s3-part-" + config.name(), Duration.ofSeconds(5));
        this.abortRetrier = threads.scheduled("s3-abort-retry-" + config.name());
        abortRetrier.scheduleWithFixedDelay(this::retryPendingAborts, ABORT_RETRY.toMillis(), ABORT_RETRY.toMillis(),
                TimeUnit.MILLISECONDS);
    }

    /** How often aborts that failed are tried again; the stale-upload sweep is the last resort. */
    static final Duration ABORT_RETRY = Duration.ofSeconds(5);

    private void retryPendingAborts() {
        pendingAborts.forEach((uploadId, key) -> {
            try {
                client.abortMultipartUpload(r -> r.bucket(config.bucket()).key(key).uploadId(uploadId));
                pendingAborts.remove(uploadId);
                LOG.info("Aborted multipart upload {} of s3://{}/{} on retry", uploadId, config.bucket(), key);
            } catch (software.amazon.awssdk.services.s3.model.NoSuchUploadException gone) {
                pendingAborts.remove(uploadId);
            } catch (SdkException stillDown) {
                LOG.debug("Abort of {} still failing: {}", uploadId, stillDown.getMessage());
            }
        });
    }

    private static AwsCredentialsProvider credentials(S3TargetFactory config) {
        if (config.accessKeyId() != null) {
            return StaticCredentialsProvider.create(AwsBasicCredentials.create(config.accessKeyId(), config.secretAccessKey()));
        }
        return DefaultCredentialsProvider.builder().build();
    }

    @Override
    public String name() {
        return config.name();
    }

    @Override
    public String describe() {
        return "s3://" + config.bucket() + "/" + config.prefix() + (config.endpoint() == null ? "" : " at " + config.endpoint());
    }

    String fullKey(String key) {
        if (key.isBlank() || key.startsWith("/") || key.contains("..")) {
            throw new IllegalArgumentException("invalid object key: " + key);
        }
        return config.prefix().isEmpty() ? key : config.prefix() + "/" + key;
    }

    private String relative(String fullKey) {
        return config.prefix().isEmpty() ? fullKey : fullKey.substring(config.prefix().length() + 1);
    }

    /** An S3 PUT (or completed multipart upload) replaces the object in one step. */
    @Override
    public ObjectUpload uploadReplacing(String key) {
        return upload(key);
    }

    @Override
    public ObjectUpload upload(String key) {
        return new S3MultipartUpload(client, partUploader, this::newPut, this::newMultipart, config.bucket(), fullKey(key),
                (int) config.partSize().toBytes(), config.concurrency(), uploadId -> pendingAborts.put(uploadId, fullKey(key)), guard);
    }

    private PutObjectRequest.Builder newPut() {
        PutObjectRequest.Builder put = PutObjectRequest.builder();
        if (config.storageClass() != null) {
            put.storageClass(config.storageClass());
        }
        if (config.serverSideEncryption() != null) {
            put.serverSideEncryption(config.serverSideEncryption());
            put.ssekmsKeyId(config.kmsKeyId());
        }
        return put;
    }

    private CreateMultipartUploadRequest.Builder newMultipart() {
        CreateMultipartUploadRequest.Builder create = CreateMultipartUploadRequest.builder();
        if (config.storageClass() != null) {
            create.storageClass(config.storageClass());
        }
        if (config.serverSideEncryption() != null) {
            create.serverSideEncryption(config.serverSideEncryption());
            create.ssekmsKeyId(config.kmsKeyId());
        }
        return create;
    }

    @Override
    public void put(String key, byte[] content, String contentType) throws IOException {
        SentDigests digests = new SentDigests();
        digests.update(content, 0, content.length);
        SentDigests.Part sent = SentDigests.Part.of(1, content, content.length);
        try {
            client.putObject(newPut().bucket(config.bucket()).key(fullKey(key)).contentType(contentType)
                    .contentLength((long) content.length).contentMD5(sent.contentMd5()).build(), RequestBody.fromBytes(content));
        } catch (SdkException e) {
            throw new IOException("cannot write s3://" + config.bucket() + "/" + fullKey(key) + ": " + e.getMessage(), e);
        }
        readBack(client, config.bucket(), fullKey(key), digests, List.of(sent), false, S3Target::direct);
    }

    private static <T> T direct(String what, dev.backstop.resilience.Guard.IoCall<T> call) throws IOException {
        return call.call();
    }

    /** One S3 call, with or without the target's retries. */
    interface Caller {
        <T> T call(String what, dev.backstop.resilience.Guard.IoCall<T> call) throws IOException;
    }

    /**
     * HEADs a just-written object and compares length and checksums with what was sent; a mismatch
     * deletes the object and fails with what the store did.
     */
    static void readBack(S3Client client, String bucket, String key, SentDigests digests, List<SentDigests.Part> sent,
            boolean multipart, Caller caller) throws IOException {
        String where = "s3://" + bucket + "/" + key;
        HeadObjectResponse head;
        try {
            head = caller.call("read back", () -> {
                try {
                    return client.headObject(r -> r.bucket(bucket).key(key).checksumMode(ChecksumMode.ENABLED));
                } catch (S3Exception e) {
                    if (e.statusCode() != 501) {
                        throw e;
                    }
                    // Stores without checksum support (S3Proxy) refuse the header: length and ETag still count.
                    return client.headObject(r -> r.bucket(bucket).key(key));
                }
            });
        } catch (SdkException e) {
            throw new IOException("cannot read back " + where + " after writing it: " + e.getMessage(), e);
        }
        try {
            digests.verify(where, head, sent, multipart);
        } catch (IOException mismatch) {
            try {
                client.deleteObject(r -> r.bucket(bucket).key(key));
            } catch (SdkException e) {
                LOG.warn("Cannot delete {}, which differs from what was sent: {}", where, e.getMessage());
            }
            throw mismatch;
        }
    }

    @Override
    public InputStream open(String key) throws IOException {
        try {
            return client.getObject(r -> r.bucket(config.bucket()).key(fullKey(key)));
        } catch (NoSuchKeyException e) {
            throw new NoSuchFileException("s3://" + config.bucket() + "/" + fullKey(key));
        } catch (SdkException e) {
            throw new IOException("cannot read s3://" + config.bucket() + "/" + fullKey(key) + ": " + e.getMessage(), e);
        }
    }

    @Override
    public byte[] read(String key, long offset, int length) throws IOException {
        if (length == 0) {
            return new byte[0];
        }
        try {
            byte[] bytes = client.getObjectAsBytes(r -> r.bucket(config.bucket()).key(fullKey(key))
                    .range("bytes=" + offset + "-" + (offset + length - 1))).asByteArrayUnsafe();
            if (bytes.length != length) {
                throw new java.io.EOFException("s3://" + config.bucket() + "/" + fullKey(key) + " returned " + bytes.length
                        + " bytes of the " + length + " asked for at " + offset);
            }
            return bytes;
        } catch (NoSuchKeyException e) {
            throw new NoSuchFileException("s3://" + config.bucket() + "/" + fullKey(key));
        } catch (SdkException e) {
            throw new IOException("cannot read s3://" + config.bucket() + "/" + fullKey(key) + ": " + e.getMessage(), e);
        }
    }

    @Override
    public boolean exists(String key) throws IOException {
        try {
            client.headObject(r -> r.bucket(config.bucket()).key(fullKey(key)));
            return true;
        } catch (NoSuchKeyException e) {
            return false;
        } catch (S3Exception e) {
            if (e.statusCode() == 404) {
                return false;
            }
            throw new IOException("cannot check s3://" + config.bucket() + "/" + fullKey(key) + ": " + e.getMessage(), e);
        } catch (SdkException e) {
            throw new IOException("cannot check s3://" + config.bucket() + "/" + fullKey(key) + ": " + e.getMessage(), e);
        }
    }

    @Override
    public void delete(String key) throws IOException {
        try {
            client.deleteObject(r -> r.bucket(config.bucket()).key(fullKey(key)));
        } catch (SdkException e) {
            throw new IOException("cannot delete s3://" + config.bucket() + "/" + fullKey(key) + ": " + e.getMessage(), e);
        }
    }

    @Override
    public List<String> list(String prefix) throws IOException {
        String full = prefix.isEmpty() ? (config.prefix().isEmpty() ? "" : config.prefix() + "/") : fullKey(prefix);
        List<String> keys = new ArrayList<>();
        try {
            for (S3Object object : client.listObjectsV2Paginator(r -> r.bucket(config.bucket()).prefix(full)).contents()) {
                keys.add(relative(object.key()));
            }
        } catch (SdkException e) {
            throw new IOException("cannot list s3://" + config.bucket() + "/" + full + ": " + e.getMessage(), e);
        }
        return keys;
    }

    /** Open multipart uploads under our prefix (for the sweep and for tests). */
    public List<MultipartUpload> openUploads() throws IOException {
        String full = config.prefix().isEmpty() ? "" : config.prefix() + "/";
        if (listingUploadsUnsupported) {
            return List.of();
        }
        try {
            List<MultipartUpload> uploads = new ArrayList<>();
            client.listMultipartUploadsPaginator(r -> r.bucket(config.bucket()).prefix(full)).uploads().forEach(uploads::add);
            return uploads;
        } catch (software.amazon.awssdk.core.exception.SdkServiceException e) {
            if (e.statusCode() == 501) {
                // The store says it does not have the call (s3rver): asking again changes nothing.
                listingUploadsUnsupported = true;
                LOG.info("s3://{} does not implement ListMultipartUploads (501 Not Implemented): interrupted multipart uploads "
                        + "cannot be found and swept here; the store's own lifecycle rules must expire them", config.bucket());
                return List.of();
            }
            throw new IOException("cannot list multipart uploads in s3://" + config.bucket() + "/" + full + ": " + e.getMessage(), e);
        } catch (SdkException e) {
            throw new IOException("cannot list multipart uploads in s3://" + config.bucket() + "/" + full + ": " + e.getMessage(), e);
        }
    }

    /** Set once the store answered 501 to ListMultipartUploads: it is not asked again. */
    private volatile boolean listingUploadsUnsupported;

    /** False once the store said it does not implement ListMultipartUploads (then nothing is swept here). */
    public boolean listsMultipartUploads() {
        return !listingUploadsUnsupported;
    }

    @Override
    public int sweepStaleUploads(Duration olderThan) throws IOException {
        List<MultipartUpload> uploads = openUploads();
        Instant cutoff = Instant.now().minus(olderThan); // after listing: ages are judged as of the listing
        int aborted = 0;
        for (MultipartUpload upload : uploads) {
            if (upload.initiated() != null && upload.initiated().isAfter(cutoff)) {
                continue;
            }
            try {
                client.abortMultipartUpload(r -> r.bucket(config.bucket()).key(upload.key()).uploadId(upload.uploadId()));
                LOG.info("Aborted stale multipart upload {} of s3://{}/{} (started {})", upload.uploadId(), config.bucket(),
                        upload.key(), upload.initiated());
                aborted++;
            } catch (SdkException e) {
                LOG.warn("Cannot abort multipart upload {} of s3://{}/{}: {}", upload.uploadId(), config.bucket(), upload.key(),
                        e.getMessage());
            }
        }
        return aborted;
    }

    /** CopyObject handles objects up to 5 GiB; larger ones are streamed by the caller. */
    static final long MAX_SERVER_SIDE_COPY = 5L << 30;

    @Override
    public boolean canCopyWithin(StorageTarget source) {
        return source instanceof S3Target other && java.util.Objects.equals(other.config.endpoint(), config.endpoint())
                && java.util.Objects.equals(other.config.accessKeyId(), config.accessKeyId());
    }

    @Override
    public boolean copyWithin(StorageTarget source, String key, long size) throws IOException {
        if (!canCopyWithin(source) || size > MAX_SERVER_SIDE_COPY) {
            return false;
        }
        S3Target other = (S3Target) source;
        String from = other.fullKey(key);
        try {
            client.copyObject(r -> r.sourceBucket(other.config.bucket()).sourceKey(from)
                    .destinationBucket(config.bucket()).destinationKey(fullKey(key)));
            long copied = client.headObject(r -> r.bucket(config.bucket()).key(fullKey(key))).contentLength();
            if (copied != size) {
                client.deleteObject(r -> r.bucket(config.bucket()).key(fullKey(key)));
                throw new IOException("server-side copy of " + key + " holds " + copied + " bytes, expected " + size);
            }
            return true;
        } catch (SdkException e) {
            throw new IOException("cannot copy s3://" + other.config.bucket() + "/" + from + " to s3://" + config.bucket() + "/"
                    + fullKey(key) + ": " + e.getMessage(), e);
        }
    }

    @Override
    public void close() {
        abortRetrier.shutdownNow();
        partUploader.shutdownNow();
        client.close();
    }
}
