package io.explainstream.cli;

import io.explainstream.attribution.NonFiniteAttributionException;
import io.explainstream.bench.PipelineBench;
import io.explainstream.logging.LogFormat;
import io.explainstream.logging.LogProvider;
import io.explainstream.model.ModelLoadException;
import io.explainstream.render.TokenText;
import io.explainstream.tokenize.TokenizerLoadException;
import java.io.PrintWriter;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code explainstream} command line: wires the chosen command, runs it, exits. */
@Command(
        name = "explainstream",
        mixinStandardHelpOptions = true,
        versionProvider = VersionProvider.class,
        description = "Explains logged LLM traffic with Integrated Gradients at the embedding layer.",
        subcommands = {
            RunCommand.class,
            DemoCommand.class,
            TailCommand.class,
            SendCommand.class,
            DashboardCommand.class,
            ReplayCommand.class,
            DiffCommand.class,
            BenchCommand.class,
            AttributeCommand.class,
            GenerateCommand.class,
            MakeCheckpointCommand.class,
            ConvertLlama2cCommand.class,
            CommandLine.HelpCommand.class
        })
public final class Main implements Runnable {

    @CommandLine.Spec
    private CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        // Before anything logs: the log format is checked, and SLF4J told to use the provider that
        // can write it (the embedded broker's JVM, on the same class path, keeps slf4j-simple).
        try {
            LogFormat.resolve(System.getProperty(LogFormat.SYSTEM_PROPERTY), System.getenv());
        } catch (IllegalArgumentException e) {
            System.err.println("error: " + e.getMessage());
            System.exit(2);
        }
        if (System.getProperty(LogProvider.SLF4J_PROVIDER_PROPERTY) == null) {
            System.setProperty(LogProvider.SLF4J_PROVIDER_PROPERTY, LogProvider.class.getName());
            // SLF4J announces an explicitly chosen provider at INFO on every start; its warnings stay.
            System.setProperty(LogProvider.SLF4J_VERBOSITY_PROPERTY, "WARN");
        }
        System.exit(run(args));
    }

    /** Runs a command line on standard output and error, and returns its exit code. */
    public static int run(String... args) {
        return run(new PrintWriter(System.out, true), new PrintWriter(System.err, true), args);
    }

    /** Runs a command line with the given output and error writers; tests call this. */
    public static int run(PrintWriter out, PrintWriter err, String... args) {
        // Choices take any case, as the configuration's do (attribution.method=Gradient is gradient): --storage-dtype f16 is F16.
        int code = NumberOptions.register(new CommandLine(new Main()))
                .setCaseInsensitiveEnumValuesAllowed(true)
                .setOut(out)
                .setErr(err)
                .setExecutionExceptionHandler(Main::reportError)
                .setParameterExceptionHandler(Main::reportParameterError)
                .execute(args);
        return code == 0 ? outputWritten(out, err) : code;
    }

    /**
     * A PrintWriter keeps its write errors to itself: standard output on a full disk, or a closed
     * pipe, would lose a report while the command said it succeeded. Said, and exit 2, as any
     * file that cannot be written is.
     */
    static int outputWritten(PrintWriter out, PrintWriter err) {
        if (!out.checkError()) {
            return 0;
        }
        err.println("error: standard output could not be written (a full disk, or a reader that went away): output was lost");
        err.flush();
        return 2;
    }

    /**
     * A command line picocli cannot parse (an unknown option, a missing one, a value of the wrong
     * type or choice): the problem and where to read more, not the whole usage, which would bury it.
     */
    private static int reportParameterError(CommandLine.ParameterException e, String[] args) {
        CommandLine commandLine = e.getCommandLine();
        // Some of picocli's messages begin with "Error: " themselves.
        String message = e.getMessage().startsWith("Error: ") ? e.getMessage().substring("Error: ".length()) : e.getMessage();
        commandLine.getErr().println("error: " + shown(message));
        commandLine.getErr().println("Run '" + commandLine.getCommandSpec().qualifiedName() + " --help' for the options.");
        return 2;
    }

    /**
     * Errors the user can fix (a bad option, a broken model directory) are printed as one line
     * that names the problem; anything else keeps its stack trace.
     */
    private static int reportError(Exception e, CommandLine commandLine, CommandLine.ParseResult parseResult) {
        if (e instanceof ModelLoadException || e instanceof TokenizerLoadException || e instanceof IllegalArgumentException
                || e instanceof UnreachableException) {
            commandLine.getErr().println("error: " + shown(e.getMessage()));
            return 2;
        }
        if (e instanceof PipelineBench.Incomplete) {
            // A bench whose events were not all explained: what is missing, and why, in one line.
            commandLine.getErr().println("error: " + shown(e.getMessage()));
            return 1;
        }
        if (e instanceof NonFiniteAttributionException) {
            // Not the command line's fault but the model's (or its dtype's): said in one line, exit 1.
            commandLine.getErr().println("error: " + shown(e.getMessage()));
            return 1;
        }
        e.printStackTrace(commandLine.getErr());
        return 1;
    }

    /**
     * An error message as the terminal may show it: it quotes what the user gave (an option's
     * value, a field of config.json), and an escape sequence or a bidirectional override in that
     * would act on the terminal (clear it, reorder the line) rather than be read. Each line escaped
     * as traffic text is ({@link TokenText#visible}).
     */
    static String shown(String message) {
        return message == null ? "null" : java.util.Arrays.stream(message.split("\n", -1)).map(TokenText::visible)
                .collect(java.util.stream.Collectors.joining("\n"));
    }

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }
}
