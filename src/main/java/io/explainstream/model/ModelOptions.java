package io.explainstream.model;

/** How to load a model: where it runs, in which dtype, and with how many CPU threads. */
public record ModelOptions(DeviceSpec device, ComputeDtype dtype, CpuThreads threads) {

    public static final ModelOptions CPU_FLOAT32 = new ModelOptions(new DeviceSpec("cpu"), ComputeDtype.FLOAT32);

    /** With {@link CpuThreads#AUTO}. */
    public ModelOptions(DeviceSpec device, ComputeDtype dtype) {
        this(device, dtype, CpuThreads.AUTO);
    }

    public static ModelOptions cpu(ComputeDtype dtype) {
        return new ModelOptions(new DeviceSpec("cpu"), dtype);
    }
}
