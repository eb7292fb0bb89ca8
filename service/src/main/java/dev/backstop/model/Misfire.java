package dev.backstop.model;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import java.util.Locale;
import org.quartz.CronTrigger;

/**
 * What a job does about fire times it missed (the service was down, or every scheduler thread was busy
 * for longer than {@code scheduler.misfireThreshold}).
 */
public enum Misfire {
    /** Run once as soon as possible, then resume the schedule (the default). */
    RUN_ONCE("runOnce", CronTrigger.MISFIRE_INSTRUCTION_FIRE_ONCE_NOW),
    /** Skip what was missed and wait for the next fire time. */
    SKIP("skip", CronTrigger.MISFIRE_INSTRUCTION_DO_NOTHING);

    private final String json;
    private final int instruction;

    Misfire(String json, int instruction) {
        this.json = json;
        this.instruction = instruction;
    }

    @JsonValue
    public String json() {
        return json;
    }

    public int instruction() {
        return instruction;
    }

    public static Misfire orDefault(Misfire misfire) {
        return misfire == null ? RUN_ONCE : misfire;
    }

    @JsonCreator
    public static Misfire parse(String value) {
        for (Misfire m : values()) {
            if (m.json.equalsIgnoreCase(value) || m.name().equalsIgnoreCase(value.replace('-', '_').toUpperCase(Locale.ROOT))) {
                return m;
            }
        }
        throw new IllegalArgumentException("misfire must be runOnce or skip, not '" + value + "'");
    }
}
