namespace Vbase.Isa.Traps;

/// <summary>Synchronous exception codes (mcause with the interrupt bit clear), privileged spec table 3.6.</summary>
public enum ExceptionCause : ulong
{
    InstructionAddressMisaligned = 0,
    InstructionAccessFault = 1,
    IllegalInstruction = 2,
    Breakpoint = 3,
    LoadAddressMisaligned = 4,
    LoadAccessFault = 5,
    StoreAddressMisaligned = 6,
    StoreAccessFault = 7,
    EcallFromU = 8,
    EcallFromS = 9,
    EcallFromM = 11,
    InstructionPageFault = 12,
    LoadPageFault = 13,
    StorePageFault = 15,
}

/// <summary>Interrupt numbers (mcause with the interrupt bit set; bit positions in mip/mie).</summary>
public enum InterruptCause
{
    SupervisorSoftware = 1,
    MachineSoftware = 3,
    SupervisorTimer = 5,
    MachineTimer = 7,
    SupervisorExternal = 9,
    MachineExternal = 11,
}

/// <summary>Privilege levels, encoded as in mstatus.MPP.</summary>
public enum Privilege : byte
{
    User = 0,
    Supervisor = 1,
    Machine = 3,
}
