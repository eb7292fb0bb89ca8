package dev.backstop.api;

import java.util.List;

/** A list response; {@code next} is the cursor of the following page, or null on the last one. */
public record Page<T>(List<T> items, String next) {}
