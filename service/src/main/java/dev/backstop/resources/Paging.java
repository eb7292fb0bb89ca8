package dev.backstop.resources;

import dev.backstop.api.Page;
import dev.backstop.core.BackstopException;
import dev.backstop.core.ProblemType;
import dev.backstop.model.TimeOrderedId;
import java.util.List;
import java.util.function.Function;

/** Cursor paging shared by the list endpoints: newest first, the cursor is the last id of a page. */
final class Paging {
    static final int DEFAULT_LIMIT = 50;
    static final int MAX_LIMIT = 500;

    private Paging() {}

    /** The page size asked for, checked. */
    static int limit(Integer limit) {
        int size = limit == null ? DEFAULT_LIMIT : limit;
        if (size < 1 || size > MAX_LIMIT) {
            throw new BackstopException(ProblemType.BAD_REQUEST, "limit must be between 1 and " + MAX_LIMIT);
        }
        return size;
    }

    /** The cursor, checked; null for the first page. */
    static String cursor(String cursor) {
        if (cursor != null && !TimeOrderedId.isValid(cursor)) {
            throw new BackstopException(ProblemType.BAD_REQUEST, "cursor must be the 'next' value of a previous page");
        }
        return cursor;
    }

    /** A page from {@code size + 1} rows fetched: the extra row only tells whether there is a next page. */
    static <R, V> Page<V> of(List<R> rows, int size, Function<R, String> id, Function<R, V> view) {
        String next = rows.size() > size ? id.apply(rows.get(size - 1)) : null;
        return new Page<>(rows.stream().limit(size).map(view).toList(), next);
    }
}
