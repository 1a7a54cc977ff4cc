using ActorVmm.Host.Vms;

namespace ActorVmm.Host.Terminal;

/// <summary>
/// Copies stdin (keys in raw mode, or a pipe) to the guest's COM1 on a dedicated background thread,
/// until stdin ends or the VM has ended. A blocked read never holds the process open.
/// </summary>
public static class ConsoleInputPump
{
    private const int BufferSize = 256;

    /// <summary>Starts copying stdin to <paramref name="vm"/>.</summary>
    public static void Start(IVmHandle vm)
    {
        ArgumentNullException.ThrowIfNull(vm);
        var thread = new Thread(() => Pump(vm)) { IsBackground = true, Name = $"stdin:{vm.Name}" };
        thread.Start();
    }

    private static void Pump(IVmHandle vm)
    {
        using var stdin = Console.OpenStandardInput();
        byte[] buffer = new byte[BufferSize];
        while (!vm.Completion.IsCompleted)
        {
            int read;
            try
            {
                read = stdin.Read(buffer, 0, buffer.Length);
            }
            catch (IOException)
            {
                return;
            }

            if (read <= 0)
            {
                return;
            }

            vm.SendConsoleInput(buffer.AsMemory(0, read).ToArray());
        }
    }
}
