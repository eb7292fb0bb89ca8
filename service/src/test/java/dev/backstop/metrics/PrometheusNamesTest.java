package dev.backstop.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import dev.backstop.model.MetricName;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class PrometheusNamesTest {

    @ParameterizedTest
    @CsvSource({
            "io.dropwizard.jetty.MutableServletContextHandler.2xx-responses, '', true, io_dropwizard_jetty_mutable_servlet_context_handler_2xx_responses",
            "org.eclipse.jetty.server.HttpConnectionFactory.127.0.0.1.8080.connections, _seconds, false, org_eclipse_jetty_server_http_connection_factory_127_0_0_1_8080_connections_seconds",
            "backstop.health.probe.duration, _seconds, false, backstop_health_probe_duration_seconds",
            "backstop.snapshots.total, '', true, backstop_snapshots",
            "some.thing.count, '', false, some_thing",
            "HTTPServer.requests, '', false, http_server_requests",
            "9lives, '', false, _9lives",
    })
    void namesFollowPrometheusConventions(String dropwizard, String unit, boolean counter, String expected) {
        assertThat(PrometheusNames.of(dropwizard, unit, counter)).isEqualTo(expected);
    }

    @Test
    void labelsRoundTripThroughTheMetricName() {
        String name = MetricName.of("backstop.snapshots", "source", "main,db]", "outcome", "completed");
        assertThat(MetricName.parse(name)).isEqualTo(new MetricName("backstop.snapshots",
                Map.of("source", "main,db]", "outcome", "completed")));
        assertThat(MetricName.parse("plain.name")).isEqualTo(new MetricName("plain.name", Map.of()));
    }
}
