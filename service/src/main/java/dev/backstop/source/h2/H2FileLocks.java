package dev.backstop.source.h2;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * Whether an H2 database file is open, decided without opening the file. H2 holds a lock on its
 * {@code .mv.db} while a process has it open. Taking a lock to find out is not safe: on Linux
 * closing any channel on a file drops every lock this process holds on it, so probing a database
 * this very JVM has open (Backstop's own catalog, a source being read) would hand it to any other
 * process. The kernel's lock table ({@code /proc/locks}) answers without touching the file.
 */
public final class H2FileLocks {
    static final Path PROC_LOCKS = Path.of("/proc/locks");

    private H2FileLocks() {}

    /** Who holds a lock on {@code file}: "this service" or "process 1234"; empty when nobody does. */
    public static Optional<String> holder(Path file) throws IOException {
        return holder(file, PROC_LOCKS, ProcessHandle.current().pid());
    }

    static Optional<String> holder(Path file, Path procLocks, long self) throws IOException {
        if (!Files.isReadable(procLocks)) {
            throw new IOException("cannot tell whether " + file + " is open: " + procLocks + " is not readable on this host");
        }
        long inode = ((Number) Files.getAttribute(file, "unix:ino")).longValue();
        // Matched on the inode number alone: overlay file systems report another device in stat than
        // in the lock table, and a rare match on another file system only refuses, never destroys.
        String suffix = ":" + inode;
        List<String> lines = Files.readAllLines(procLocks);
        for (String line : lines) {
            // "1: POSIX  ADVISORY  WRITE 1234 fd:01:5678 0 EOF"; blocked waiters ("-> ...") hold nothing.
            String[] fields = line.trim().split("\\s+");
            if (fields.length < 6 || fields[1].equals("->")) {
                continue;
            }
            if (fields[5].endsWith(suffix)) {
                long pid = parsePid(fields[4]);
                return Optional.of(pid == self ? "this service" : pid > 0 ? "process " + pid : "another process");
            }
        }
        return Optional.empty();
    }

    private static long parsePid(String field) {
        try {
            return Long.parseLong(field);
        } catch (NumberFormatException e) {
            return -1;
        }
    }
}
