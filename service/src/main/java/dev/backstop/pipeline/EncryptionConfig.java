package dev.backstop.pipeline;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.nio.file.Path;

/**
 * {@code encryption:} optional OpenPGP encryption of every snapshot to one recipient.
 *
 * @param recipientKeyFile     the recipient's ASCII-armored (or binary) PUBLIC key, as exported by
 *                             {@code gpg --export --armor KEYID}. Omitted: snapshots are not encrypted.
 * @param privateKeyFile       only on hosts that restore: the recipient's secret key
 *                             ({@code gpg --export-secret-keys --armor KEYID}); snapshots never need it
 * @param privateKeyPassphrase its passphrase, as {@code ${ENV_VAR}}; empty when it has none
 */
public record EncryptionConfig(Path recipientKeyFile, Path privateKeyFile, String privateKeyPassphrase) {

    @JsonCreator
    public EncryptionConfig(@JsonProperty("recipientKeyFile") Path recipientKeyFile,
            @JsonProperty("privateKeyFile") Path privateKeyFile,
            @JsonProperty("privateKeyPassphrase") String privateKeyPassphrase) {
        this.recipientKeyFile = recipientKeyFile;
        this.privateKeyFile = privateKeyFile;
        this.privateKeyPassphrase = privateKeyPassphrase == null ? "" : privateKeyPassphrase;
    }

    public static EncryptionConfig disabled() {
        return new EncryptionConfig(null, null, null);
    }

    /** Never prints the passphrase. */
    @Override
    public String toString() {
        return "EncryptionConfig[recipientKeyFile=" + recipientKeyFile + ", privateKeyFile=" + privateKeyFile + "]";
    }

    public boolean enabled() {
        return recipientKeyFile != null;
    }
}
