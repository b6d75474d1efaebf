using Vbase.Hypervisor.Domains;
using Vbase.Platform.Devices.Virtio;
using Vbase.Sapi.Abi;

namespace Vbase.Hypervisor.Devices;

/// <summary>
/// A Linux domain's virtio-console (slot <see cref="GuestLayout.VirtioConsoleSlot"/>) and its Dom0 backend: what
/// the guest writes goes to the domain's console exactly as the SBI console's bytes do (<see cref="Domain.WriteConsole"/>:
/// the run's console output, log and limit), and its input is the domain's console input (the scenario's
/// <c>console_input</c>, Dom0's <c>PushConsoleInput</c>), the queue the SBI's getchar reads too.
/// </summary>
internal sealed class GuestConsole : GuestVirtioDevice, IConsoleBackend
{
    public GuestConsole(Hypervisor hv, Domain domain)
        : base(hv, domain, (int)GuestLayout.VirtioConsoleSlot)
    {
        Device = new VirtioConsoleDevice(this);
        Transport = new VirtioMmioTransport(Device, this);
        domain.MapMmio(Gpa, Transport);
    }

    public VirtioConsoleDevice Device { get; }
    public VirtioMmioTransport Transport { get; }

    public void Output(ReadOnlySpan<byte> bytes) => Domain.WriteConsole(bytes);

    public bool HasInput => Domain.ConsoleInput.Count > 0;

    public int ReadInput(Span<byte> destination)
    {
        int n = Math.Min(destination.Length, Domain.ConsoleInput.Count);
        for (int i = 0; i < n; i++)
        {
            destination[i] = Domain.ConsoleInput.Dequeue();
        }
        return n;
    }

    /// <summary>Dom0 queued input: hand it to the driver's buffers now, if it has posted any.</summary>
    public void InputQueued()
    {
        if (Up)
        {
            Device.DeliverInput();
        }
    }
}
