package io.explainstream.model;

/** How to load a checkpoint: on which device and in which compute dtype. */
public record ModelOptions(DeviceSpec device, ComputeDtype dtype) {

    public static final ModelOptions CPU_FLOAT32 = new ModelOptions(new DeviceSpec("cpu"), ComputeDtype.FLOAT32);

    public static ModelOptions cpu(ComputeDtype dtype) {
        return new ModelOptions(new DeviceSpec("cpu"), dtype);
    }
}
