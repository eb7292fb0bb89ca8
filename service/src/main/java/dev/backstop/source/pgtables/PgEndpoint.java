package dev.backstop.source.pgtables;

import dev.backstop.source.SourceProcesses;
import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;

/**
 * One database the stock PostgreSQL tools connect to: {@code host} is a host name or, for a
 * scratch copy, the directory of its Unix socket; the password, if any, is in {@code processes}'
 * environment, never on the command line.
 *
 * @param tools the path of a PostgreSQL program by its name ({@code psql}, {@code pg_dump})
 */
public record PgEndpoint(String host, int port, String user, String database, SourceProcesses processes,
        UnaryOperator<String> tools) {

    /** The same server and role, another database. */
    public PgEndpoint database(String other) {
        return new PgEndpoint(host, port, user, other, processes, tools);
    }

    /** What names this database in a message (no secret). */
    public String describe() {
        return database + " on " + (host.startsWith("/") ? "the scratch copy" : host + ":" + port);
    }

    /** {@code psql} without a startup file, stopping at the first error, unaligned and tuples only. */
    List<String> psql(String... more) {
        List<String> command = new ArrayList<>(List.of(tools.apply("psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                "--no-password", "--host=" + host, "--port=" + port, "--username=" + user, "--dbname=" + database));
        command.addAll(List.of(more));
        return command;
    }

    /** One psql call: {@code sql} in one transaction (several statements in one -c are one), its rows as lines. */
    public String query(String sql, int timeoutSeconds) throws java.io.IOException {
        return processes.run(psql("-c", sql), timeoutSeconds);
    }

    /** {@code pg_dump} of this database with {@code more} options. */
    List<String> pgDump(String... more) {
        List<String> command = new ArrayList<>(List.of(tools.apply("pg_dump"), "--no-password", "--host=" + host, "--port=" + port,
                "--username=" + user, "--dbname=" + database));
        command.addAll(List.of(more));
        return command;
    }
}
