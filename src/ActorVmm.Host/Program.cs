using ActorVmm.Host.Backends;
using ActorVmm.Host.Cli;

return await CommandLineApp.RunAsync(args, new BackendCatalog());
