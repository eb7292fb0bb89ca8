package dev.backstop.auth;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The admin token made on first start when no token is configured. The file is created with mode
 * 0600 before a byte is written, so the token is never readable by others, not even briefly.
 */
public final class GeneratedToken {
    private static final Logger LOG = LoggerFactory.getLogger(GeneratedToken.class);
    private static final Set<PosixFilePermission> OWNER_ONLY = PosixFilePermissions.fromString("rw-------");

    private GeneratedToken() {}

    /** Reads the token file, creating it with a fresh random token when it does not exist. */
    public static ApiToken loadOrCreate(Path file) throws IOException {
        String token;
        if (Files.exists(file)) {
            token = Files.readString(file, StandardCharsets.UTF_8).strip();
            if (token.isEmpty()) {
                throw new IOException("auth.generatedTokenFile " + file + " is empty; delete it to generate a new token");
            }
            LOG.info("No API tokens configured; using the admin token in {}", file.toAbsolutePath());
        } else {
            token = create(file);
            LOG.warn("No API tokens configured; generated an admin token in {} (mode 0600). "
                    + "Send it as 'Authorization: Bearer <token>'.", file.toAbsolutePath());
        }
        return new ApiToken("generated-admin", TokenHash.sha256Hex(token), Role.ADMIN);
    }

    /**
     * Once {@code auth.tokens} is configured the generated token no longer opens anything: its file
     * would only mislead (a script reading it gets 401). It is removed, and the log says so.
     */
    public static void removeStale(Path file) throws IOException {
        if (Files.deleteIfExists(file)) {
            LOG.warn("Removed {}: auth.tokens is configured, so the generated token in it no longer works", file.toAbsolutePath());
        }
    }

    private static String create(Path file) throws IOException {
        byte[] random = new byte[32];
        new SecureRandom().nextBytes(random);
        String token = Base64.getUrlEncoder().withoutPadding().encodeToString(random);
        Path parent = file.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        try {
            Files.createFile(file, PosixFilePermissions.asFileAttribute(OWNER_ONLY));
        } catch (FileAlreadyExistsException raced) {
            return Files.readString(file, StandardCharsets.UTF_8).strip();
        }
        // createFile applies the umask; set the mode explicitly as well.
        Files.setPosixFilePermissions(file, OWNER_ONLY);
        Files.writeString(file, token + "\n", StandardCharsets.UTF_8, StandardOpenOption.TRUNCATE_EXISTING);
        return token;
    }
}
