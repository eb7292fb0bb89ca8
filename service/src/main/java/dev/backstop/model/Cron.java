package dev.backstop.model;

import jakarta.validation.Constraint;
import jakarta.validation.ConstraintValidator;
import jakarta.validation.ConstraintValidatorContext;
import jakarta.validation.Payload;
import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import org.quartz.CronExpression;

/** A Quartz cron expression (null is allowed: no schedule). */
@Documented
@Constraint(validatedBy = Cron.Validator.class)
@Target({ElementType.FIELD, ElementType.METHOD, ElementType.PARAMETER, ElementType.RECORD_COMPONENT})
@Retention(RetentionPolicy.RUNTIME)
public @interface Cron {

    String message() default "must be a Quartz cron expression: seconds minutes hours day-of-month month day-of-week "
            + "[year], with ? in one of the day fields, e.g. '0 0 2 * * ?' for 02:00 every day";

    Class<?>[] groups() default {};

    Class<? extends Payload>[] payload() default {};

    final class Validator implements ConstraintValidator<Cron, String> {
        @Override
        public boolean isValid(String value, ConstraintValidatorContext context) {
            return value == null || CronExpression.isValidExpression(value);
        }
    }
}
