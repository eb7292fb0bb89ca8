package dev.backstop.storage.s3;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonTypeName;
import dev.backstop.storage.StorageTarget;
import dev.backstop.storage.StorageTargetFactory;
import io.dropwizard.util.DataSize;
import io.dropwizard.util.DataSizeUnit;
import io.dropwizard.util.Duration;
import io.dropwizard.validation.MaxDataSize;
import io.dropwizard.validation.MinDataSize;
import io.dropwizard.validation.MinDuration;
import io.dropwizard.validation.ValidationMethod;
import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotBlank;
import jakarta.validation.constraints.NotNull;
import jakarta.validation.constraints.Pattern;
import java.net.URI;
import java.util.concurrent.TimeUnit;

/**
 * {@code type: s3}: AWS S3 or any S3-compatible store (MinIO, Ceph RGW, Garage, R2, ...).
 *
 * @param name                 unique target name
 * @param bucket               bucket (must exist)
 * @param prefix               key prefix inside the bucket, without leading or trailing '/'
 * @param region               signing region; S3-compatible stores usually accept {@code us-east-1}
 * @param endpoint             endpoint override for S3-compatible stores, e.g. {@code http://127.0.0.1:9000}
 * @param pathStyleAccess      {@code bucket} in the path rather than the host name (MinIO and most non-AWS stores)
 * @param accessKeyId          static credentials, normally {@code ${AWS_ACCESS_KEY_ID}}; omit both to use the
 *                             AWS default provider chain (environment, profile, instance role)
 * @param secretAccessKey      see accessKeyId
 * @param storageClass         e.g. {@code STANDARD_IA}; omitted: the bucket's default
 * @param serverSideEncryption {@code AES256} or {@code aws:kms}; omitted: the bucket's default
 * @param kmsKeyId             key for {@code aws:kms}
 * @param partSize             multipart part size; memory used by an upload is at most partSize x (concurrency + 1)
 * @param concurrency          parts uploaded in parallel per upload
 * @param checksumMode         {@code WHEN_SUPPORTED} (AWS) or {@code WHEN_REQUIRED} (most S3-compatible stores)
 * @param apiCallTimeout       limit on one S3 request, including the SDK's own retries
 */
@JsonTypeName("s3")
public record S3TargetFactory(
        @NotBlank String name,
        @NotBlank String bucket,
        @NotNull @Pattern(regexp = "^$|^[^/].*[^/]$|^[^/]$", message = "must not start or end with '/'") String prefix,
        @NotBlank String region,
        URI endpoint,
        Boolean pathStyleAccess,
        String accessKeyId,
        String secretAccessKey,
        String storageClass,
        @Pattern(regexp = "AES256|aws:kms|aws:kms:dsse", message = "must be AES256, aws:kms or aws:kms:dsse") String serverSideEncryption,
        String kmsKeyId,
        @NotNull @MinDataSize(value = 5, unit = DataSizeUnit.MEBIBYTES) @MaxDataSize(value = 512, unit = DataSizeUnit.MEBIBYTES) DataSize partSize,
        @NotNull @Min(1) @Max(32) Integer concurrency,
        @NotNull ChecksumMode checksumMode,
        @NotNull @MinDuration(value = 1, unit = TimeUnit.SECONDS) Duration apiCallTimeout) implements StorageTargetFactory {

    /** When the SDK adds request checksums and validates response checksums. */
    public enum ChecksumMode { WHEN_SUPPORTED, WHEN_REQUIRED }

    public S3TargetFactory {
        prefix = prefix == null ? "" : prefix;
        region = region == null ? "us-east-1" : region;
        pathStyleAccess = pathStyleAccess != null && pathStyleAccess;
        accessKeyId = blankToNull(accessKeyId);
        secretAccessKey = blankToNull(secretAccessKey);
        storageClass = blankToNull(storageClass);
        serverSideEncryption = blankToNull(serverSideEncryption);
        kmsKeyId = blankToNull(kmsKeyId);
        partSize = partSize == null ? DataSize.mebibytes(16) : partSize;
        concurrency = concurrency == null ? 4 : concurrency;
        checksumMode = checksumMode == null ? ChecksumMode.WHEN_SUPPORTED : checksumMode;
        apiCallTimeout = apiCallTimeout == null ? Duration.minutes(5) : apiCallTimeout;
    }

    @JsonIgnore
    @ValidationMethod(message = "storage.targets[]: set both accessKeyId and secretAccessKey, or neither "
            + "(to use the AWS default credential chain)")
    public boolean isCredentialsComplete() {
        return (accessKeyId == null) == (secretAccessKey == null);
    }

    @Override
    public StorageTarget build(dev.backstop.storage.StorageEnvironment environment) {
        return new S3Target(this, environment.guard(), environment.threads());
    }

    @Override
    public dev.backstop.resilience.FailureClassifier failures() {
        return S3Failures.INSTANCE;
    }

    /** Never prints credentials. */
    @Override
    public String toString() {
        return "S3TargetFactory[name=" + name + ", bucket=" + bucket + ", prefix=" + prefix + ", endpoint=" + endpoint
                + ", credentials=" + (accessKeyId == null ? "default-chain" : "static") + "]";
    }

    private static String blankToNull(String value) {
        return value == null || value.isBlank() ? null : value;
    }
}
