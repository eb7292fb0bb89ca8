package dev.backstop.db;

/** What the catalog's constraint errors mean, so that callers above the database need no SQL types. */
public final class Constraints {
    private Constraints() {}

    /** Whether a failure (a Jdbi exception, anywhere down its cause chain) is a unique-constraint violation. */
    public static boolean isUniqueViolation(Throwable failure) {
        for (Throwable t = failure; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof java.sql.SQLException sql) {
                // a batch's failure carries the failed statement's own as the next exception
                for (java.sql.SQLException e = sql; e != null; e = e.getNextException()) {
                    if ("23505".equals(e.getSQLState())) {
                        return true;
                    }
                }
            }
        }
        return false;
    }
}
