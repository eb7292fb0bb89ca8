package dev.backstop.architecture;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.Architectures.layeredArchitecture;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The layering of {@code ../shared/design.md}, checked on the compiled main classes: each layer
 * uses only the layers below it, packages form no cycles, and a source or storage type is known
 * only to itself (it is found through {@code META-INF/services}).
 */
class LayeringTest {
    private static JavaClasses classes;

    @BeforeAll
    static void importClasses() {
        classes = new ClassFileImporter().withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
                .importPackages("dev.backstop");
    }

    @Test
    void eachLayerUsesOnlyTheLayersBelowIt() {
        layeredArchitecture().consideringOnlyDependenciesInLayers()
                .layer("Root").definedBy("dev.backstop", "dev.backstop.cli..")
                .layer("Adapters").definedBy("dev.backstop.api..", "dev.backstop.auth..", "dev.backstop.resources..",
                        "dev.backstop.health..", "dev.backstop.metrics..", "dev.backstop.systemd..", "dev.backstop.tasks..")
                .layer("Schedule").definedBy("dev.backstop.schedule..")
                .layer("Core").definedBy("dev.backstop.core..", "dev.backstop.retention..", "dev.backstop.pruning..")
                .layer("Repository").definedBy("dev.backstop.repository..")
                .layer("Plugins").definedBy("dev.backstop.source..", "dev.backstop.storage..")
                .layer("Db").definedBy("dev.backstop.db..")
                .layer("Codecs").definedBy("dev.backstop.pipeline..", "dev.backstop.resilience..")
                .layer("Model").definedBy("dev.backstop.model..")
                .whereLayer("Root").mayNotBeAccessedByAnyLayer()
                .whereLayer("Adapters").mayOnlyBeAccessedByLayers("Root")
                .whereLayer("Schedule").mayOnlyBeAccessedByLayers("Root", "Adapters")
                .whereLayer("Core").mayOnlyBeAccessedByLayers("Root", "Adapters", "Schedule")
                .whereLayer("Repository").mayOnlyBeAccessedByLayers("Root", "Adapters", "Schedule", "Core")
                .whereLayer("Plugins").mayOnlyBeAccessedByLayers("Root", "Adapters", "Schedule", "Core", "Repository")
                .whereLayer("Db").mayOnlyBeAccessedByLayers("Root", "Adapters", "Schedule", "Core", "Repository")
                .whereLayer("Codecs").mayOnlyBeAccessedByLayers("Root", "Adapters", "Schedule", "Core", "Repository", "Plugins", "Db")
                .check(classes);
    }

    @Test
    void packagesFormNoCycles() {
        slices().matching("dev.backstop.(*)..").should().beFreeOfCycles().check(classes);
    }

    @Test
    void aSourceOrStorageTypeIsKnownOnlyToItself() {
        for (String type : List.of("source.directory", "source.h2", "source.postgres", "source.pgcluster", "source.sqlite", "storage.s3",
                "storage.filesystem")) {
            String pkg = "dev.backstop." + type + "..";
            noClasses().that().resideOutsideOfPackage(pkg).should().dependOnClassesThat().resideInAPackage(pkg)
                    .because("a " + type.substring(0, type.indexOf('.')) + " type is registered through META-INF/services")
                    .check(classes);
        }
    }

    @Test
    void coreKnowsNoSqlNoHttpNoQuartzAndStartsNoProcess() {
        noClasses().that().resideInAnyPackage("dev.backstop.core..", "dev.backstop.retention..", "dev.backstop.pruning..")
                .should().dependOnClassesThat().resideInAnyPackage("java.sql..", "javax.sql..", "jakarta.ws.rs..", "org.jdbi..",
                        "org.quartz..")
                .orShould().dependOnClassesThat().areAssignableTo(ProcessBuilder.class)
                .check(classes);
    }

    /** The byte pipeline has one owner: compression and encryption are assembled only in pipeline. */
    @Test
    void zstdAndBouncyCastleAreUsedOnlyInThePipeline() {
        noClasses().that().resideOutsideOfPackage("dev.backstop.pipeline..")
                .should().dependOnClassesThat().resideInAnyPackage("com.github.luben.zstd..", "org.bouncycastle..")
                .because("the encode and decode chains are assembled in one place, pipeline/ObjectCodec")
                .check(classes);
    }

    /**
     * Every process of a source is built and started by SourceProcesses, with the source's connection
     * environment, through its one injectable ProcessLauncher.
     */
    @Test
    void processesAreBuiltAndStartedOnlyBySourceProcesses() {
        noClasses().that().doNotHaveFullyQualifiedName("dev.backstop.source.SourceProcesses")
                .and().doNotHaveFullyQualifiedName("dev.backstop.source.ProcessLauncher")
                .should().callConstructor(ProcessBuilder.class, java.util.List.class)
                .orShould().callConstructor(ProcessBuilder.class, String[].class)
                .orShould().callMethod(ProcessBuilder.class, "start")
                .because("a process built elsewhere would start without the source's password (issue 20, item 1), and past the "
                        + "launcher a test can replace (issue 22, item 4)")
                .check(classes);
    }

    /** Callers ask a target what they need (unretried(), guarded()); nobody unwraps the decorator. */
    @Test
    void nobodyUnwrapsTheStorageDecorator() {
        noClasses().that().resideOutsideOfPackage("dev.backstop.storage..")
                .should().dependOnClassesThat().haveFullyQualifiedName("dev.backstop.storage.ResilientTarget")
                .check(classes);
    }
}
