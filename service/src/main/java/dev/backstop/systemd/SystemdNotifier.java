package dev.backstop.systemd;

import com.sun.jna.Library;
import com.sun.jna.Native;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sends state to systemd through libsystemd's {@code sd_notify} (JNA): the JDK cannot send a
 * datagram on a Unix socket. Only present when systemd started us with {@code NOTIFY_SOCKET}.
 */
public final class SystemdNotifier {
    private static final Logger LOG = LoggerFactory.getLogger(SystemdNotifier.class);
    private static final List<String> LIBRARY_NAMES = List.of("systemd", "libsystemd.so.0");

    /** The one libsystemd call we need. */
    public interface LibSystemd extends Library {
        int sd_notify(int unsetEnvironment, String state);
    }

    private final LibSystemd library;

    SystemdNotifier(LibSystemd library) {
        this.library = library;
    }

    /** A notifier when running under systemd with a notify socket; empty otherwise. */
    public static Optional<SystemdNotifier> fromEnvironment() {
        if (System.getenv("NOTIFY_SOCKET") == null) {
            return Optional.empty();
        }
        for (String name : LIBRARY_NAMES) {
            try {
                return Optional.of(new SystemdNotifier(Native.load(name, LibSystemd.class)));
            } catch (UnsatisfiedLinkError tryNext) {
                LOG.debug("{} not loadable: {}", name, tryNext.getMessage());
            }
        }
        LOG.warn("NOTIFY_SOCKET is set but libsystemd cannot be loaded: systemd will not hear READY=1 or the watchdog");
        return Optional.empty();
    }

    /** Sends one notification, such as {@code READY=1}; false when systemd did not take it. */
    public boolean notify(String state) {
        int result = library.sd_notify(0, state);
        if (result <= 0) {
            LOG.warn("sd_notify({}) returned {}", state.replace('\n', ' '), result);
        }
        return result > 0;
    }
}
