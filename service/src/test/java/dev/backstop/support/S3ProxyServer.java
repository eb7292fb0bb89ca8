package dev.backstop.support;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.util.Properties;
import org.gaul.s3proxy.AuthenticationType;
import org.gaul.s3proxy.S3Proxy;
import org.jclouds.ContextBuilder;
import org.jclouds.blobstore.BlobStore;
import org.jclouds.blobstore.BlobStoreContext;

/**
 * A real S3 server (S3Proxy over jclouds' in-memory blob store) on a free loopback port. It can be
 * stopped and started again on the same port with its contents kept, to simulate an outage.
 */
public final class S3ProxyServer implements AutoCloseable {
    public static final String ACCESS_KEY = "backstop-test-access";
    public static final String SECRET_KEY = "backstop-test-secret-do-not-log";

    private final BlobStoreContext context;
    private final int port;
    private S3Proxy proxy;

    private S3ProxyServer(int port) {
        Properties properties = new Properties();
        this.context = ContextBuilder.newBuilder("transient")
                .credentials("identity", "credential")
                .overrides(properties)
                .build(BlobStoreContext.class);
        this.port = port;
    }

    public static S3ProxyServer start() throws Exception {
        S3ProxyServer server = new S3ProxyServer(freePort());
        server.resume();
        return server;
    }

    public URI endpoint() {
        return URI.create("http://127.0.0.1:" + port);
    }

    public BlobStore blobStore() {
        return context.getBlobStore();
    }

    public void createBucket(String bucket) {
        blobStore().createContainerInLocation(null, bucket);
    }

    /** Stops answering: the port refuses connections until {@link #resume()}. Contents are kept. */
    public synchronized void pause() throws Exception {
        if (proxy != null) {
            proxy.stop();
            proxy = null;
        }
    }

    public synchronized void resume() throws Exception {
        if (proxy == null) {
            proxy = S3Proxy.builder()
                    .blobStore(context.getBlobStore())
                    .endpoint(URI.create("http://127.0.0.1:" + port))
                    .awsAuthentication(AuthenticationType.AWS_V2_OR_V4, ACCESS_KEY, SECRET_KEY)
                    .build();
            proxy.start();
            while (!proxy.getState().equals("STARTED")) {
                Thread.sleep(10);
            }
        }
    }

    @Override
    public void close() throws Exception {
        pause();
        context.close();
    }

    public static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        }
    }
}
