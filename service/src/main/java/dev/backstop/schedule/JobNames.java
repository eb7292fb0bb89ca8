package dev.backstop.schedule;

import org.quartz.JobKey;

/** Jobs are named {@code kind.subject} in the API, metrics and logs; Quartz keys them (subject, kind). */
public final class JobNames {
    private JobNames() {
    }

    public static String of(JobKey key) {
        return key.getGroup() + "." + key.getName();
    }

    /** The Quartz key of an API job name, or null when the name has no {@code kind.} prefix. */
    public static JobKey key(String name) {
        int dot = name == null ? -1 : name.indexOf('.');
        if (dot <= 0 || dot == name.length() - 1) {
            return null;
        }
        return JobKey.jobKey(name.substring(dot + 1), name.substring(0, dot));
    }
}
