package io.explainstream.testing;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import org.junit.jupiter.api.parallel.Execution;
import org.junit.jupiter.api.parallel.ExecutionMode;
import org.junit.jupiter.api.parallel.ResourceLock;

/**
 * Marks a test class whose service, demo or replay runs in JVMs of its own ({@link ServiceProcess}):
 * the test JVM holds only a broker, a registry and clients, and mostly waits. Such a class runs
 * beside the other classes (junit-platform.properties enables that for it alone), one such class at
 * a time and its methods one after another, so that the suite's waiting overlaps with its
 * computing on a 2-core machine.
 *
 * <p>A class may carry it only if nothing in the test JVM opens the attribution engine (DJL allows
 * one open gradient collector per JVM, which the classes that run in order share) and it neither
 * captures standard error nor measures the test JVM's memory.
 */
@Target(ElementType.TYPE)
@Retention(RetentionPolicy.RUNTIME)
@Execution(ExecutionMode.CONCURRENT)
@ResourceLock(RunsInChildProcesses.LOCK)
public @interface RunsInChildProcesses {

    /** Held by each such class while it runs: one at a time. */
    String LOCK = "io.explainstream.testing.child-processes";
}
