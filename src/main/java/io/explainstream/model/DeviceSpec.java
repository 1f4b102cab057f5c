package io.explainstream.model;

import ai.djl.Device;
import ai.djl.engine.Engine;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Where the model runs: {@code cpu}, {@code gpu}, {@code gpu:N}, or {@code auto} (first GPU, else CPU). */
public record DeviceSpec(String text) {

    private static final Pattern GPU = Pattern.compile("gpu(?::(\\d+))?");

    /** Parses a configuration value; {@code key} names the option in the error. */
    public static DeviceSpec parse(String key, String value) {
        String text = value.trim().toLowerCase(java.util.Locale.ROOT);
        if (text.equals("cpu") || text.equals("auto") || GPU.matcher(text).matches()) {
            return new DeviceSpec(text);
        }
        throw new IllegalArgumentException(key + " = '" + value + "' is not a device (use cpu, gpu, gpu:N or auto)");
    }

    /** The DJL device; fails with a clear message when a GPU is asked for and none is visible. */
    public Device resolve() {
        int gpus = Engine.getEngine("PyTorch").getGpuCount();
        if (text.equals("cpu")) {
            return Device.cpu();
        }
        if (text.equals("auto")) {
            return gpus > 0 ? Device.gpu(0) : Device.cpu();
        }
        Matcher matcher = GPU.matcher(text);
        matcher.matches();
        int index = matcher.group(1) == null ? 0 : Integer.parseInt(matcher.group(1));
        if (index >= gpus) {
            throw new ModelLoadException("device '" + text + "' was requested but libtorch sees " + gpus
                    + " GPU(s); use a CUDA build of libtorch (PYTORCH_LIBRARY_PATH) or device=cpu");
        }
        return Device.gpu(index);
    }
}
