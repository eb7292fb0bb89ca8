package dev.backstop.pipeline;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.nio.file.Path;

/**
 * {@code encryption:} optional OpenPGP encryption of every snapshot to one recipient.
 *
 * @param recipientKeyFile the recipient's ASCII-armored (or binary) PUBLIC key, as exported by
 *                         {@code gpg --export --armor KEYID}; the private key never lives on this host.
 *                         Omitted: snapshots are not encrypted.
 */
public record EncryptionConfig(Path recipientKeyFile) {

    @JsonCreator
    public EncryptionConfig(@JsonProperty("recipientKeyFile") Path recipientKeyFile) {
        this.recipientKeyFile = recipientKeyFile;
    }

    public static EncryptionConfig disabled() {
        return new EncryptionConfig(null);
    }

    public boolean enabled() {
        return recipientKeyFile != null;
    }
}
