package dev.backstop.snapshot;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.backstop.support.Http;
import dev.backstop.support.S3ProxyServer;
import dev.backstop.support.TestGpg;
import dev.backstop.support.TestPostgres;
import dev.backstop.support.TestTokens;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.sync.ResponseTransformer;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * Everything a snapshot test needs, real: PostgreSQL database, S3Proxy, a GnuPG key pair, a
 * filesystem target directory, and a config file tying them to the application.
 */
public final class SnapshotFixture implements AutoCloseable {
    static final String BUCKET = "backups";
    static final String PREFIX = "backstop-test";
    private static final ObjectMapper JSON = new ObjectMapper();

    final Path dir;
    final Path fsRoot;
    final TestPostgres postgres;
    final S3ProxyServer s3;
    final TestGpg gpg;
    final Path recipientKey;
    final Path secretKey;
    final S3Client s3Client;

    SnapshotFixture() throws Exception {
        dir = Files.createTempDirectory("backstop-snapshot-it");
        fsRoot = dir.resolve("backups");
        postgres = TestPostgres.create();
        s3 = S3ProxyServer.start();
        s3.createBucket(BUCKET);
        gpg = TestGpg.create();
        recipientKey = gpg.exportPublicKey(dir.resolve("recipient.asc"));
        secretKey = gpg.exportSecretKey(dir.resolve("secret.asc"));
        s3Client = S3Client.builder().endpointOverride(s3.endpoint()).region(Region.US_EAST_1).forcePathStyle(true)
                .credentialsProvider(StaticCredentialsProvider.create(
                        AwsBasicCredentials.create(S3ProxyServer.ACCESS_KEY, S3ProxyServer.SECRET_KEY)))
                .requestChecksumCalculation(software.amazon.awssdk.core.checksums.RequestChecksumCalculation.WHEN_REQUIRED)
                .responseChecksumValidation(software.amazon.awssdk.core.checksums.ResponseChecksumValidation.WHEN_REQUIRED)
                .build();
    }

    /** The storage and encryption part of a config; sources are appended by each test. */
    String baseConfig(boolean encrypted) {
        return """
                server:
                  applicationConnectors: [{type: http, port: 0}]
                  adminConnectors: [{type: http, port: 0}]
                  requestLog: {appenders: []}
                catalog:
                  url: jdbc:h2:%1$s/catalog
                auth:
                  tokens:
                    - {name: test-reader, sha256: 4bdec4b655cc2339a3f8ad7bd23d16ed053ac3331fdf01a374fc20394ceec230, role: reader}
                    - {name: test-operator, sha256: 534125de141542e27a3668e21ce0ad7a4820c1a76d97a5d098b1c7df6eca3f1d, role: operator}
                    - {name: test-admin, sha256: b98c9b93bcac5ddbf030a130b46430d0cac4e591c55b0c65072eebb9c4739985, role: admin}
                healthMonitor: {period: 1s, timeout: 800ms}
                disk: {paths: [%1$s]}
                snapshots: {stagingPath: %1$s/staging}
                # Failure tests take S3 away for good: give up after a few seconds of retries.
                resilience:
                  retry: {initialDelay: 200ms, maxDelay: 1s, maxDuration: 3s}
                  breaker: {failureThreshold: 20, delay: 2s, successThreshold: 1}
                storage:
                  targets:
                    - {type: filesystem, name: fs, path: %2$s}
                    - type: s3
                      name: s3
                      bucket: %3$s
                      prefix: %4$s
                      endpoint: %5$s
                      pathStyleAccess: true
                      accessKeyId: %6$s
                      secretAccessKey: %7$s
                      checksumMode: WHEN_REQUIRED
                      partSize: 5MiB
                      concurrency: 2
                %8$s
                logging:
                  level: WARN
                  appenders: [{type: console}]
                """.formatted(dir, fsRoot, BUCKET, PREFIX, s3.endpoint(), S3ProxyServer.ACCESS_KEY, S3ProxyServer.SECRET_KEY,
                encrypted ? "encryption: {recipientKeyFile: " + recipientKey + ", privateKeyFile: " + secretKey + "}" : "");
    }

    Path writeConfig(String name, String yaml) throws IOException {
        return Files.writeString(dir.resolve(name), yaml);
    }

    /** POSTs a snapshot and waits for it to finish; returns its final view. */
    public static JsonNode snapshot(int port, String source) {
        Http.Reply accepted = Http.send("POST", "http://127.0.0.1:" + port + "/api/v1/snapshots", TestTokens.OPERATOR,
                "application/json", "{\"source\": \"" + source + "\"}");
        assertThat(accepted.status()).as(accepted.body()).isEqualTo(202);
        String location = accepted.header("Location");
        assertThat(location).endsWith("/api/v1/snapshots/" + accepted.json().get("id").asText());
        JsonNode[] last = new JsonNode[1];
        await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(100)).until(() -> {
            last[0] = Http.get(location, TestTokens.READER).json();
            return !"RUNNING".equals(last[0].get("status").asText());
        });
        return last[0];
    }

    /** Fetches a stored object with a plain filesystem read or a plain S3 GET, into a local file. */
    Path fetch(JsonNode view, String key, Path into) throws IOException {
        if ("fs".equals(view.get("storageTarget").asText())) {
            Files.copy(fsRoot.resolve(key), into);
        } else {
            s3Client.getObject(r -> r.bucket(BUCKET).key(PREFIX + "/" + key), ResponseTransformer.toFile(into));
        }
        return into;
    }

    JsonNode manifest(JsonNode view) throws IOException {
        Path file = fetch(view, view.get("manifestKey").asText(), Files.createTempDirectory(dir, "manifest").resolve("manifest.json"));
        return JSON.readTree(file.toFile());
    }

    /**
     * Downloads the data object, checks its SHA-256 against the catalog and the manifest, decrypts it
     * with gpg when encrypted and decompresses it with zstd: returns the raw source stream as a file.
     */
    Path fetchVerifyAndDecode(JsonNode view) throws Exception {
        assertThat(view.get("status").asText()).as(view.toString()).isEqualTo("COMPLETED");
        if (view.get("dataKey").asText().endsWith(".chunks.jsonl")) {
            return fetchVerifyAndJoinChunks(view);
        }
        Path work = Files.createTempDirectory(dir, "fetch");
        String dataKey = view.get("dataKey").asText();
        Path stored = fetch(view, dataKey, work.resolve(Path.of(dataKey).getFileName().toString()));
        String sha = sha256(stored);
        JsonNode manifest = manifest(view);
        assertThat(sha).isEqualTo(view.get("sha256").asText()).isEqualTo(manifest.get("sha256").asText());
        assertThat(Files.size(stored)).isEqualTo(view.get("storedBytes").asLong()).isEqualTo(manifest.get("storedBytes").asLong());
        Path compressed = stored;
        if (dataKey.endsWith(".pgp")) {
            assertThat(manifest.get("encryption").get("recipientFingerprint").asText()).isEqualTo(gpg.fingerprint());
            compressed = work.resolve("data.zst");
            gpg.decrypt(stored, compressed);
        } else {
            assertThat(manifest.has("encryption")).isFalse();
        }
        Path raw = work.resolve("data.raw");
        dev.backstop.support.Shell.run(work, "zstd -q -d -o " + raw + " " + compressed);
        assertThat(Files.size(raw)).isEqualTo(view.get("rawBytes").asLong());
        return raw;
    }

    /** Reads {@code length} bytes of a stored object from {@code offset}: a plain file read or a ranged S3 GET. */
    byte[] fetchRange(JsonNode view, String key, long offset, int length) throws IOException {
        if ("fs".equals(view.get("storageTarget").asText())) {
            try (java.io.RandomAccessFile file = new java.io.RandomAccessFile(fsRoot.resolve(key).toFile(), "r")) {
                byte[] bytes = new byte[length];
                file.seek(offset);
                file.readFully(bytes);
                return bytes;
            }
        }
        return s3Client.getObjectAsBytes(r -> r.bucket(BUCKET).key(PREFIX + "/" + key)
                .range("bytes=" + offset + "-" + (offset + length - 1))).asByteArray();
    }

    /**
     * A chunked snapshot with the stock tools: its chunk list is checked against the catalog and the
     * manifest, then every chunk is cut out of its pack, decrypted with gpg, decompressed with zstd,
     * checked against its id where ids are plain SHA-256, and appended: the raw source stream.
     */
    Path fetchVerifyAndJoinChunks(JsonNode view) throws Exception {
        Path work = Files.createTempDirectory(dir, "chunks");
        String dataKey = view.get("dataKey").asText();
        Path list = fetch(view, dataKey, work.resolve("chunks.jsonl"));
        JsonNode manifest = manifest(view);
        assertThat(sha256(list)).isEqualTo(view.get("sha256").asText()).isEqualTo(manifest.get("sha256").asText());
        assertThat(Files.size(list)).isEqualTo(manifest.get("storedBytes").asLong());
        assertThat(manifest.get("formatVersion").asInt()).isEqualTo(2);
        assertThat(manifest.get("chunks").get("format").asText()).isEqualTo("chunked-1");
        boolean encrypted = manifest.has("encryption");
        assertThat(manifest.get("chunks").get("chunkIds").asText()).isEqualTo(encrypted ? "hmac-sha256" : "sha256");
        Path raw = work.resolve("data.raw");
        long chunkBytes = 0;
        int n = 0;
        try (java.io.OutputStream out = Files.newOutputStream(raw)) {
            for (String line : Files.readAllLines(list)) {
                JsonNode chunk = JSON.readTree(line);
                byte[] stored = fetchRange(view, chunk.get("pack").asText(), chunk.get("offset").asLong(), chunk.get("length").asInt());
                chunkBytes += stored.length;
                Path piece = work.resolve("chunk" + n);
                Files.write(piece, stored);
                Path compressed = piece;
                if (encrypted) {
                    compressed = work.resolve("chunk" + n + ".zst");
                    gpg.decrypt(piece, compressed);
                }
                Path plain = work.resolve("chunk" + n + ".raw");
                dev.backstop.support.Shell.run(work, "zstd -q -d -o " + plain + " " + compressed);
                assertThat(Files.size(plain)).isEqualTo(chunk.get("size").asLong());
                if (!encrypted) {
                    assertThat(sha256(plain)).isEqualTo(chunk.get("id").asText());
                }
                Files.copy(plain, out);
                n++;
            }
        }
        assertThat(n).isEqualTo(manifest.get("chunks").get("chunkCount").asInt());
        assertThat(chunkBytes).isEqualTo(view.get("storedBytes").asLong()).isEqualTo(manifest.get("chunks").get("chunkBytes").asLong());
        assertThat(Files.size(raw)).isEqualTo(view.get("rawBytes").asLong());
        return raw;
    }

    public static String sha256(Path file) throws Exception {
        MessageDigest digest = MessageDigest.getInstance("SHA-256");
        try (InputStream in = Files.newInputStream(file)) {
            byte[] buffer = new byte[1 << 16];
            int n;
            while ((n = in.read(buffer)) > 0) {
                digest.update(buffer, 0, n);
            }
        }
        return HexFormat.of().formatHex(digest.digest());
    }

    @Override
    public void close() throws Exception {
        s3Client.close();
        s3.close();
        gpg.close();
        postgres.close();
    }
}
