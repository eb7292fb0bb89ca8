package dev.backstop.model;

/** NEW restores beside the live data; REPLACE swaps it in place of the live data. */
public enum RestoreMode {
    NEW, REPLACE
}
