package dev.backstop.source;

import java.util.List;

/**
 * What a source noticed while writing its stream, for the manifest.
 *
 * @param filesChanged files that changed while being read (directory sources)
 * @param filesVanished files that disappeared between listing and reading (directory sources)
 */
public record SourceReport(List<String> filesChanged, List<String> filesVanished) {
    public static final SourceReport CLEAN = new SourceReport(List.of(), List.of());

    public SourceReport {
        filesChanged = List.copyOf(filesChanged);
        filesVanished = List.copyOf(filesVanished);
    }
}
