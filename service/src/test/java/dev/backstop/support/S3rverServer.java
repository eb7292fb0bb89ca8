package dev.backstop.support;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * s3rver, an S3 server written independently of S3Proxy (Node.js, from npm), started as a child
 * process on a free loopback port. Like several small S3 implementations it does not decode the
 * AWS SDK's {@code aws-chunked} upload framing: a client that sends it stores the framing too.
 * Installed by {@code npm ci --prefix service/src/test/node} ({@code .ci/run} does it).
 */
public final class S3rverServer implements AutoCloseable {
    /** s3rver's built-in credentials. */
    public static final String ACCESS_KEY = "S3RVER";
    public static final String SECRET_KEY = "S3RVER";

    private final Process process;
    private final int port;
    private final Path directory;

    private S3rverServer(Process process, int port, Path directory) {
        this.process = process;
        this.port = port;
        this.directory = directory;
    }

    public static Path executable() {
        Path module = Path.of(System.getProperty("user.dir")).resolve("src/test/node/node_modules/.bin/s3rver");
        if (!Files.isExecutable(module)) {
            throw new AssertionError("s3rver is not installed at " + module + ": run `npm ci --prefix service/src/test/node` "
                    + "(.ci/run does)");
        }
        return module;
    }

    public static S3rverServer start(String... buckets) throws Exception {
        Path directory = Files.createTempDirectory("s3rver");
        int port = S3ProxyServer.freePort();
        java.util.List<String> command = new java.util.ArrayList<>(java.util.List.of(executable().toString(), "--directory",
                directory.toString(), "--address", "127.0.0.1", "--port", Integer.toString(port), "--silent"));
        for (String bucket : buckets) {
            command.add("--configure-bucket");
            command.add(bucket);
        }
        Process process = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(directory.resolveSibling(directory.getFileName() + ".log").toFile()).start();
        S3rverServer server = new S3rverServer(process, port, directory);
        try {
            // Await the port (or the process dying), as the tests await every other event.
            org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(50))
                    .until(() -> server.accepting() || !process.isAlive());
        } catch (org.awaitility.core.ConditionTimeoutException e) {
            server.close();
            throw new IOException("s3rver did not start on port " + port + " within 60 s", e);
        }
        if (!process.isAlive()) {
            server.close();
            throw new IOException("s3rver exited at start; see " + directory + ".log");
        }
        return server;
    }

    private boolean accepting() {
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress("127.0.0.1", port), 200);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    public URI endpoint() {
        return URI.create("http://127.0.0.1:" + port);
    }

    @Override
    public void close() throws Exception {
        process.destroy();
        if (!process.waitFor(10, TimeUnit.SECONDS)) {
            process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
        try (var paths = Files.walk(directory)) {
            for (Path p : paths.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
