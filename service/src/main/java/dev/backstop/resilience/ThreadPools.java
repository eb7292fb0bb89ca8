package dev.backstop.resilience;

import com.codahale.metrics.MetricRegistry;
import io.dropwizard.lifecycle.setup.LifecycleEnvironment;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Where every long-lived executor comes from: Dropwizard's managed executors
 * ({@code environment.lifecycle().executorService(...)} and {@code scheduledExecutorService(...)}),
 * so the server's lifecycle shuts each down after the service that uses it has stopped. The pools
 * are also remembered here, so a graph that no lifecycle runs (the CLI commands, tests) ends them
 * with {@link #close()}. Threads are daemons: a missed shutdown never keeps the JVM alive.
 */
public final class ThreadPools implements AutoCloseable {
    private final LifecycleEnvironment lifecycle;
    private final List<ExecutorService> built = new CopyOnWriteArrayList<>();

    public ThreadPools(LifecycleEnvironment lifecycle) {
        this.lifecycle = lifecycle;
    }

    /** Pools that only {@link #close()} ends: for a target or service built outside a lifecycle. */
    public static ThreadPools standalone() {
        return new ThreadPools(new LifecycleEnvironment(new MetricRegistry()));
    }

    /** {@code threads} threads named {@code name-N}, with an unbounded queue. */
    public ExecutorService fixed(String name, int threads) {
        return remember(lifecycle.executorService(name, daemon(name)).minThreads(threads).maxThreads(threads).build());
    }

    /** As many threads as there are tasks, each ended after {@code idle} without one. */
    public ExecutorService elastic(String name, Duration idle) {
        return remember(lifecycle.executorService(name, daemon(name)).minThreads(0).maxThreads(Integer.MAX_VALUE)
                .keepAliveTime(io.dropwizard.util.Duration.milliseconds(idle.toMillis())).workQueue(new SynchronousQueue<>())
                .build());
    }

    /** One thread for periodic work. */
    public ScheduledExecutorService scheduled(String name) {
        return remember(lifecycle.scheduledExecutorService(name, daemon(name)).threads(1).removeOnCancelPolicy(true).build());
    }

    private <T extends ExecutorService> T remember(T executor) {
        built.add(executor);
        return executor;
    }

    private static ThreadFactory daemon(String name) {
        AtomicInteger count = new AtomicInteger();
        return runnable -> {
            Thread thread = new Thread(runnable, name + "-" + count.incrementAndGet());
            thread.setDaemon(true);
            return thread;
        };
    }

    /** Ends every pool built here (each service has already stopped its own work). */
    @Override
    public void close() {
        built.forEach(ExecutorService::shutdown);
        for (ExecutorService executor : built) {
            try {
                if (!executor.awaitTermination(5, TimeUnit.SECONDS)) {
                    executor.shutdownNow();
                }
            } catch (InterruptedException e) {
                executor.shutdownNow();
                Thread.currentThread().interrupt();
            }
        }
    }
}
