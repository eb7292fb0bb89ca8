package dev.backstop.resources.errors;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.SQLException;
import org.jdbi.v3.core.statement.UnableToExecuteStatementException;
import org.junit.jupiter.api.Test;

/** A statement that lost its connection (server shutting down, network) is a 503, not a bug; a bad statement is. */
class CatalogUnavailableMapperTest {
    @Test
    void connectionLossMidStatementIsAnOutageOtherErrorsAreNot() {
        SQLException terminated = new SQLException("FATAL: terminating connection due to administrator command", "57P01");
        SQLException reset = new SQLException("An I/O error occurred while sending to the backend", "08006");
        SQLException syntax = new SQLException("syntax error at or near", "42601");
        assertThat(CatalogUnavailableMapper.connectionLost(new UnableToExecuteStatementException(terminated, null))).isTrue();
        assertThat(CatalogUnavailableMapper.connectionLost(new UnableToExecuteStatementException(reset, null))).isTrue();
        assertThat(CatalogUnavailableMapper.connectionLost(new UnableToExecuteStatementException(syntax, null))).isFalse();
        assertThat(CatalogUnavailableMapper.connectionLost(new IllegalStateException("boom"))).isFalse();
    }
}
